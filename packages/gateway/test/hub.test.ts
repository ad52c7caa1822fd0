import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { BusEvent } from '../src/bus/bus.js'
import { jobKey } from '../src/bus/keys.js'
import { PUBLISH_SCRIPT } from '../src/bus/scripts.js'
import { createRedisBus } from '../src/bus/redis-bus.js'
import { frameCache } from '../src/frame-cache.js'
import { JobHub, type Watch } from '../src/hub.js'
import { createPublisher } from '../src/publisher.js'
import { busKinds, eventually, redisKind, sharedRedis, stopSharedRedis, waitForState, type BusFixture } from './support.js'

afterAll(stopSharedRedis)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.each(busKinds)('JobHub over the $name bus', (kind) => {
  let fx: BusFixture
  let hub: JobHub
  afterEach(async () => {
    hub?.close()
    await fx?.close()
  })

  it('gives a late watcher the snapshot, then live events, and ends after the terminal', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    const early = await fx.bus.publish({ id: 'late', status: 'active', progress: 40 })
    const order: string[] = []
    const watch = await hub.watch('late', { onReady: (s) => order.push(`ready:${s?.event.progress}`) }, (m) =>
      order.push(`${m.event.status}:${m.event.seq === (early.published ? early.event.seq : 0) ? 'snapshot' : 'live'}`),
    )
    expect(order).toEqual(['ready:40', 'active:snapshot'])
    await fx.bus.publish({ id: 'late', status: 'completed' })
    await eventually(() => watch.ended)
    expect(order).toEqual(['ready:40', 'active:snapshot', 'completed:live'])
    expect(hub.watchedJobs).toBe(0)
  })

  it('reports an unknown job with a null snapshot and waits for its first event', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    const got: BusEvent[] = []
    const ready: (BusEvent | null)[] = []
    const watch = await hub.watch('nobody-yet', { onReady: (s) => ready.push(s) }, (m) => got.push(m))
    expect(ready).toEqual([null])
    await fx.bus.publish({ id: 'nobody-yet', status: 'queued' })
    await eventually(() => got.length === 1)
    watch.close()
  })

  it('calls a handler object as it calls a listener function, with `this` bound to the handler', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    await fx.bus.publish({ id: 'h', status: 'active', progress: 10 })
    const handler = {
      seen: [] as string[],
      onJobEvent(m: BusEvent) {
        this.seen.push(`${m.event.status}:${m.event.progress ?? ''}`)
      },
    }
    const watch = await hub.watch('h', {}, handler)
    await fx.bus.publish({ id: 'h', status: 'completed' })
    await eventually(() => watch.ended)
    expect(handler.seen).toEqual(['active:10', 'completed:'])
  })

  it('skips what `since` covers and ends at once when it covers the terminal event', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    const a = await fx.bus.publish({ id: 'cur', status: 'active' })
    const b = await fx.bus.publish({ id: 'cur', status: 'cancelled' })
    if (!a.published || !b.published) throw new Error('not published')
    const fromA: BusEvent[] = []
    const w1 = await hub.watch('cur', { since: a.event.seq }, (m) => fromA.push(m))
    expect(fromA.map((m) => m.event.status)).toEqual(['cancelled'])
    expect(w1.ended).toBe(true)
    const fromB: BusEvent[] = []
    const w2 = await hub.watch('cur', { since: b.event.seq }, (m) => fromB.push(m))
    expect(fromB).toEqual([])
    expect(w2.ended).toBe(true)
    expect(hub.watchedJobs).toBe(0)
  })

  it('storm: 300 events published while 20 watchers join at random moments — exact, ordered, no duplicates', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    const id = 'storm'
    const seen = Array.from({ length: 20 }, () => [] as number[])
    const watches: Promise<Watch>[] = []
    for (let w = 0; w < 20; w++) {
      watches.push(sleep(Math.random() * 30).then(() => hub.watch(id, {}, (m) => seen[w]!.push(m.event.seq))))
    }
    const outcomes = []
    for (let i = 0; i < 300; i++) {
      const last = i === 299
      outcomes.push(fx.bus.publish(last ? { id, status: 'completed' } : { id, status: 'active', progress: i / 3 }))
      if (i % 15 === 0) await sleep(1)
    }
    const published = (await Promise.all(outcomes)).map((o) => (o.published ? o.event.seq : -1))
    expect(published.every((s, i) => i === 0 || s > published[i - 1]!)).toBe(true)
    const terminal = published[299]!
    await Promise.all(watches)
    await eventually(() => seen.every((s) => s.at(-1) === terminal))
    for (const s of seen) {
      const start = published.indexOf(s[0]!)
      expect(start).toBeGreaterThanOrEqual(0)
      expect(s).toEqual(published.slice(start))
    }
    expect(hub.watchedJobs).toBe(0)
  })

  it('holds one bus subscription per watched job and none after the watchers close', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    const ws = await Promise.all([
      ...Array.from({ length: 5 }, () => hub.watch('ra', {}, () => {})),
      ...Array.from({ length: 3 }, () => hub.watch('rb', {}, () => {})),
    ])
    expect(hub.watchedJobs).toBe(2)
    const [ca, cb] = [jobKey(fx.prefix, 'ra'), jobKey(fx.prefix, 'rb')]
    if (fx.raw) {
      expect(await fx.raw.pubsub('SHARDNUMSUB', ca, cb)).toEqual([ca, 1, cb, 1])
      expect((await fx.raw.pubsub('SHARDCHANNELS', `${fx.prefix}*`)).sort()).toEqual([ca, cb])
    }
    for (const w of ws) w.close()
    expect(hub.watchedJobs).toBe(0)
    if (fx.raw) await eventually(async () => (await fx.raw!.pubsub('SHARDCHANNELS', `${fx.prefix}*`)).length === 0)
  })

  it('serializes a frame once per event for all watchers', async () => {
    fx = await kind.create()
    hub = new JobHub(fx.bus)
    let built = 0
    const frame = frameCache((m) => {
      built++
      return `{"type":"job","job":${m.json}}`
    })
    const frames: string[] = []
    await Promise.all(Array.from({ length: 4 }, () => hub.watch('fc', {}, (m) => frames.push(frame(m)))))
    await fx.bus.publish({ id: 'fc', status: 'completed' })
    await eventually(() => frames.length === 4)
    expect(built).toBe(1)
    expect(new Set(frames).size).toBe(1)
  })
})

describe('JobHub across a Redis restart', () => {
  it('delivers the terminal event published after the restart exactly once, with no stale duplicate', async () => {
    const redis = await sharedRedis()
    const fx = await redisKind.create()
    const hub = new JobHub(fx.bus)
    const publisher = createPublisher({ url: redis.url, prefix: fx.prefix })
    try {
      const id = 'restart'
      await publisher.active(id, { progress: 10 })
      const seen = Array.from({ length: 3 }, () => [] as BusEvent[])
      const watches = await Promise.all(seen.map((s) => hub.watch(id, {}, (m) => s.push(m))))
      await publisher.progress(id, 50)
      await eventually(() => seen.every((s) => s.length === 2))

      const states: string[] = []
      fx.bus.onStateChange((state) => states.push(state))
      await redis.restart()
      // Publish as soon as Redis answers, possibly before the gateway has resubscribed: the
      // snapshot re-read after 'up' or the channel must bring it, and the gate must keep it single.
      let done
      for (;;) {
        try {
          done = await publisher.complete(id, { url: '/file' })
          break
        } catch {
          await sleep(20)
        }
      }
      expect(done.published).toBe(true)
      await waitForState(fx.bus, 'up')
      await eventually(() => watches.every((w) => w.ended))
      await sleep(100)
      expect(states).toContain('down')
      for (const s of seen) {
        expect(s.map((m) => m.event.status)).toEqual(['active', 'active', 'completed'])
        expect(s[2]!.event.seq).toBeGreaterThan(s[1]!.event.seq)
      }
      expect(hub.watchedJobs).toBe(0)
    } finally {
      hub.close()
      await publisher.close()
      await fx.close()
    }
  })

  it('recovers an event published while the subscriber was disconnected from the snapshot, once', async () => {
    const fx = await redisKind.create()
    const hub = new JobHub(fx.bus)
    try {
      const id = 'gap'
      await fx.bus.publish({ id, status: 'active' })
      const seen: string[] = []
      const watch = await hub.watch(id, {}, (m) => seen.push(m.event.status))
      const states: string[] = []
      fx.bus.onStateChange((state) => states.push(state))
      // Cut only the subscriber connection, then publish before it can reconnect: the channel
      // message is lost for good, so only the snapshot re-read after 'up' can deliver it.
      await fx.raw!.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await fx.raw!.eval(PUBLISH_SCRIPT, 1, jobKey(fx.prefix, id), JSON.stringify({ id, status: 'completed', ts: Date.now() }), 60)
      await eventually(() => watch.ended)
      expect(states).toEqual(['down', 'up'])
      await sleep(50)
      expect(seen).toEqual(['active', 'completed'])
    } finally {
      hub.close()
      await fx.close()
    }
  })

  it('fails fast with bus_unavailable while Redis is down', async () => {
    const redis = await sharedRedis()
    const bus = createRedisBus({ url: redis.url, commandTimeoutMs: 1000 })
    try {
      await waitForState(bus, 'up')
      await redis.kill()
      await waitForState(bus, 'down')
      const started = Date.now()
      await expect(bus.get('x')).rejects.toMatchObject({ code: 'bus_unavailable' })
      await expect(new JobHub(bus).watch('x', {}, () => {})).rejects.toMatchObject({ code: 'bus_unavailable' })
      expect(Date.now() - started).toBeLessThan(500)
    } finally {
      await redis.restart()
      await bus.close()
    }
  })
})
