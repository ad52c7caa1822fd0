/**
 * The transport contract, run over every transport × every bus, so behaviour cannot drift
 * between WebSocket, SSE, multi-job SSE and polling, between Redis and embedded mode, or
 * between Redis topologies (one server, a cluster, a sentinel group).
 *
 * The gateway runs mounted (`serve: 'mounted'`): its `app` routed inside another hono app on
 * a server of the test's own, with `handleUpgrade` for WebSockets, the path an application
 * embedding the gateway uses. `listen()` hands SSE requests to the same route code before
 * hono (routes/events-sse.ts); the last case runs every transport there, as do the other suites.
 */
import { get, type IncomingMessage } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createPublisher, type Authorizer, type Publisher } from '@jobcast/gateway'
import { startGateway, type StartGatewayOptions, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedis } from './support/redis.js'
import { startCluster } from './support/redis-cluster.js'
import { startSentinelGroup } from './support/redis-sentinel.js'
import { DRIVERS, type TransportName } from './support/transports.js'

const transports = Object.keys(DRIVERS) as TransportName[]
const buses = ['memory', 'redis', 'cluster', 'sentinel'] as const

/**
 * Grants the token `ok` every job until `expiresAt()` (ms since epoch, undefined: forever);
 * refuses a missing token (`unauthorized`) and any other (`forbidden`), as the JWT authorizer does.
 */
function testAuthorizer(expiresAt: () => number | undefined = () => undefined): Authorizer {
  return {
    open: false,
    async authorize(_id, token) {
      if (token === undefined) return { ok: false, code: 'unauthorized', message: '[jobcast] no token: send one' }
      if (token !== 'ok') return { ok: false, code: 'forbidden', message: '[jobcast] this token does not grant the job' }
      const end = expiresAt()
      if (end !== undefined && Date.now() >= end) return { ok: false, code: 'token_expired', message: '[jobcast] token expired: fetch a new one' }
      return { ok: true, expiresAt: end }
    },
  }
}

/** A streaming client that stops reading once subscribed; resolves `closed` when the server cuts it. */
interface StalledClient {
  readonly closed: Promise<void>
  close(): void
}

async function openStalled(transport: TransportName, gw: TestGateway, id: string): Promise<StalledClient> {
  if (transport === 'websocket') {
    const socket = new WebSocket(gw.wsUrl)
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const subscribed = new Promise((resolve) => socket.once('message', resolve))
    socket.send(JSON.stringify({ type: 'subscribe', id }))
    await subscribed
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket
    raw.pause()
    return { closed, close: () => (raw.resume(), socket.terminate()) }
  }
  const path = transport === 'sse' ? `/v1/jobs/${id}/events` : `/v1/events?id=${id}`
  const response = await new Promise<IncomingMessage>((resolve) => get(`${gw.url}${path}`, resolve))
  const closed = new Promise<void>((resolve) => response.socket.once('close', () => resolve()))
  // Read up to the `subscribed` frame, then stop reading.
  await new Promise<void>((resolve) => {
    let text = ''
    const onData = (chunk: Buffer): void => {
      text += chunk.toString()
      if (!text.includes('event: subscribed')) return
      response.off('data', onData)
      resolve()
    }
    response.on('data', onData)
  })
  response.pause()
  response.socket.pause()
  return { closed, close: () => (response.socket.resume(), response.destroy()) }
}

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
      gw = await startGateway({ serve: 'mounted', ...options, bus: 'memory' })
      publisher = createPublisher({ bus: gw.gateway.bus })
    } else {
      const prefix = randomPrefix()
      gw = await startGateway({ serve: 'mounted', ...options, bus: { ...target, prefix } })
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
    // Slow consumers and shutdown are about connections that stay open: polling has none, so
    // these cases are not defined for it (rather than counted as skipped).
    const itWhenStreaming: (name: string, test: () => Promise<void>) => void = streaming ? it : () => {}

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

    it('refuses a job the token does not grant, and a missing token, with the same codes', async () => {
      const { gw, pub } = await setup({ authorizer: testAuthorizer() })
      await pub.active('secret-1')
      for (const [token, code, status] of [['other', 'forbidden', 403], [undefined, 'unauthorized', 401]] as const) {
        const watcher = await open(gw, 'secret-1', 0, token)
        cleanups.push(() => watcher.close())
        await watcher.finished
        expect({ code: watcher.error(), events: watcher.events.items }).toEqual({ code, events: [] })
        if (transport === 'sse' || transport === 'sse-multi') expect(watcher.status).toBe(status)
      }
      expect(gw.gateway.hub.watchedJobs).toBe(0)
    })

    it('ends the watch with token_expired when the grant runs out', async () => {
      let expiresAt: number | undefined
      const { gw, pub } = await setup({ authorizer: testAuthorizer(() => expiresAt) })
      await pub.active('expiring-1')
      expiresAt = Date.now() + 400
      const watcher = await open(gw, 'expiring-1', 0, 'ok')
      cleanups.push(() => watcher.close())
      await watcher.finished
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt)
      expect(watcher.error()).toBe('token_expired')
      expect(watcher.events.items.map((e) => e.status)).toEqual(['active'])
      expect(gw.gateway.hub.watchedJobs).toBe(0)
    })

    itWhenStreaming('drops a client that stops reading once its unsent output passes maxBufferedBytes', async () => {
      const { gw } = await setup({ maxBufferedBytes: 64 * 1024 })
      const stalled = await openStalled(transport, gw, 'slow-1')
      cleanups.push(() => stalled.close())
      const blob = 'x'.repeat(50_000)
      for (let i = 0; i < 400 && gw.gateway.hub.watchedJobs > 0; i++) {
        await gw.gateway.bus.publish({ id: 'slow-1', status: 'active', message: blob })
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5))
      }
      expect(gw.gateway.hub.watchedJobs).toBe(0)
      stalled.close()
      await stalled.closed
    })

    itWhenStreaming('ends every stream on shutdown, and frees its watches', async () => {
      const { gw, pub } = await setup()
      await pub.active('shutdown-1')
      const watcher = await open(gw, 'shutdown-1')
      cleanups.push(() => watcher.close())
      const started = Date.now()
      await gw.close()
      await watcher.finished
      // Well within the test gateway's shutdown bound (2 s): streams end at once, not when cut.
      expect(Date.now() - started).toBeLessThan(1_500)
      expect(watcher.events.items.map((e) => e.status)).toEqual(['active'])
      expect(gw.gateway.hub.watchedJobs).toBe(0)
    })
  })

  it('serves the same contract from listen(): a live stream ends with its terminal event', async () => {
    const { gw, pub } = await setup({ serve: 'own' })
    for (const transport of transports) {
      const id = `own-${transport}`
      const watcher = await DRIVERS[transport](gw, id)
      cleanups.push(() => watcher.close())
      await pub.active(id)
      await pub.complete(id)
      await watcher.finished
      expect({ transport, statuses: watcher.events.items.map((e) => e.status).slice(-1) }).toEqual({ transport, statuses: ['completed'] })
    }
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
