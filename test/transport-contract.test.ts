/**
 * The transport contract, run over every transport × every bus, so behaviour cannot drift
 * between WebSocket, SSE, multi-job SSE and polling, between Redis and embedded mode, or
 * between Redis topologies (one server, a cluster, a sentinel group).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher, type Publisher } from '@jobcast/gateway'
import { startGateway, type StartGatewayOptions, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedis } from './support/redis.js'
import { startCluster } from './support/redis-cluster.js'
import { startSentinelGroup } from './support/redis-sentinel.js'
import { DRIVERS, type TransportName } from './support/transports.js'

const transports = Object.keys(DRIVERS) as TransportName[]
const buses = ['memory', 'redis', 'cluster', 'sentinel'] as const

/** Where a Redis topology is, as gateway and publisher options take it. */
type RedisTarget = { redisUrl: string } | { cluster: readonly string[] } | { sentinels: readonly string[]; sentinelName: string }

/** Starts the topology of `busKind` (one per file) and says how to reach it, and how to stop it. */
async function startTopology(busKind: Exclude<(typeof buses)[number], 'memory'>): Promise<{ target: RedisTarget; stop: () => Promise<void> }> {
  if (busKind === 'redis') {
    const redis = await startRedis()
    return { target: { redisUrl: redis.url }, stop: () => redis.stop() }
  }
  if (busKind === 'cluster') {
    const cluster = await startCluster()
    return { target: { cluster: cluster.nodes }, stop: () => cluster.stop() }
  }
  const group = await startSentinelGroup()
  return { target: { sentinels: group.sentinels, sentinelName: group.name }, stop: () => group.stop() }
}

describe.each(buses)('%s bus', (busKind) => {
  let gw: TestGateway | undefined
  let publisher: Publisher | undefined
  const cleanups: (() => unknown)[] = []
  let target: RedisTarget | undefined
  let stopTopology: (() => Promise<void>) | undefined

  beforeAll(async () => {
    if (busKind === 'memory') return
    ;({ target, stop: stopTopology } = await startTopology(busKind))
  }, 60_000)
  afterAll(() => stopTopology?.())

  async function setup(options: StartGatewayOptions = {}): Promise<{ gw: TestGateway; pub: Publisher }> {
    if (busKind === 'memory' || target === undefined) {
      gw = await startGateway({ ...options, bus: 'memory' })
      publisher = createPublisher({ bus: gw.gateway.bus })
    } else {
      const prefix = randomPrefix()
      gw = await startGateway({ ...options, bus: { ...target, prefix } })
      // A separate connection, as a worker process would publish.
      const { redisUrl, ...topology } = { redisUrl: undefined, ...target }
      publisher = createPublisher({ url: redisUrl, ...topology, prefix, ttlSeconds: options.ttlSeconds })
    }
    return { gw, pub: publisher }
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
    await publisher?.close()
    await gw?.close()
    gw = undefined
    publisher = undefined
  })

  describe.each(transports)('%s', (transport) => {
    const open = DRIVERS[transport]
    const streaming = transport !== 'polling'

    it('gives a late subscriber the snapshot', async () => {
      const { gw, pub } = await setup()
      await pub.queued('late-1')
      const latest = await pub.progress('late-1', 40)
      const watcher = await open(gw, 'late-1')
      cleanups.push(() => watcher.close())
      expect(watcher.exists()).toBe(true)
      await watcher.events.until(() => watcher.events.items.at(-1)?.progress === 40 || undefined)
      expect(watcher.events.items).toHaveLength(1)
      expect(latest.published && watcher.events.items[0]?.seq).toBe(latest.published && latest.event.seq)
    })

    it('delivers live updates in order, ending with the terminal event', async () => {
      const { gw, pub } = await setup()
      const watcher = await open(gw, 'live-1')
      cleanups.push(() => watcher.close())
      expect(watcher.exists()).toBe(false)
      await pub.active('live-1')
      for (const p of [20, 40, 60, 80]) {
        await pub.progress('live-1', p)
        if (!streaming) await watcher.events.until(() => (watcher.events.items.at(-1)?.progress === p ? true : undefined))
      }
      await pub.complete('live-1', { downloadUrl: '/x.csv' })
      await watcher.finished
      const seqs = watcher.events.items.map((e) => e.seq)
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(watcher.events.items.at(-1)?.status).toBe('completed')
      if (streaming) expect(watcher.events.items.map((e) => e.progress ?? null)).toEqual([null, 20, 40, 60, 80, 100])
    })

    it('ends at a terminal event the client already has', async () => {
      const { gw, pub } = await setup()
      await pub.active('done-1')
      const terminal = await pub.fail('done-1', 'boom')
      if (!terminal.published) throw new Error('not published')
      const watcher = await open(gw, 'done-1', streaming ? terminal.event.seq : 0)
      cleanups.push(() => watcher.close())
      await watcher.finished
      if (transport === 'sse' || transport === 'sse-multi') expect(watcher.status).toBe(204)
      if (transport === 'websocket') expect(watcher.events.items).toEqual([])
      if (transport === 'polling') expect(watcher.events.items.map((e) => e.status)).toEqual(['failed'])
    })
  })

  it('polling: ETag is the seq, If-None-Match → 304, Retry-After only while running', async () => {
    const { gw, pub } = await setup()
    const running = await pub.active('etag-1', { progress: 5 })
    if (!running.published) throw new Error('not published')
    const first = await fetch(`${gw.url}/v1/jobs/etag-1`)
    expect(first.headers.get('etag')).toBe(`"${running.event.seq}"`)
    expect(first.headers.get('retry-after')).not.toBeNull()
    await first.arrayBuffer()
    const same = await fetch(`${gw.url}/v1/jobs/etag-1`, { headers: { 'if-none-match': `"${running.event.seq}"` } })
    expect(same.status).toBe(304)
    await pub.complete('etag-1')
    const changed = await fetch(`${gw.url}/v1/jobs/etag-1`, { headers: { 'if-none-match': `"${running.event.seq}"` } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('retry-after')).toBeNull()
    expect(await changed.json()).toMatchObject({ status: 'completed' })
  })

  it('forgets a job once its snapshot TTL expired, on every transport', async () => {
    const { gw, pub } = await setup({ ttlSeconds: 1 })
    await pub.active('ttl-1')
    const before = await DRIVERS.polling(gw, 'ttl-1')
    before.close()
    expect(before.exists()).toBe(true)
    await new Promise((r) => setTimeout(r, 1_300))
    for (const transport of transports) {
      const watcher = await DRIVERS[transport](gw, 'ttl-1')
      cleanups.push(() => watcher.close())
      expect({ transport, exists: watcher.exists(), events: watcher.events.items }).toEqual({ transport, exists: false, events: [] })
    }
    const response = await fetch(`${gw.url}/v1/jobs/ttl-1`)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { code: 'job_not_found' } })
  })

  // Polling has no cursor: it always answers the latest event (its resume is the ETag, see app.test.ts).
  describe.each(transports.filter((t) => t !== 'polling'))('%s resume', (transport) => {
    const open = DRIVERS[transport]
    it('resumes from a cursor with only newer events', async () => {
      const { gw, pub } = await setup()
      await pub.active('resume-1')
      const second = await pub.progress('resume-1', 30)
      if (!second.published) throw new Error('not published')
      const watcher = await open(gw, 'resume-1', second.event.seq)
      cleanups.push(() => watcher.close())
      await pub.progress('resume-1', 60)
      await pub.complete('resume-1')
      await watcher.finished
      expect(watcher.events.items.map((e) => e.progress)).toEqual([60, 100])
    })

  })
})
