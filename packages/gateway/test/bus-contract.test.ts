import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { BusEvent } from '../src/bus/bus.js'
import { jobKey } from '../src/bus/keys.js'
import type { RedisBus } from '../src/bus/redis-bus.js'
import { isValidationError } from '../src/errors.js'
import { busKinds, eventually, stopSharedRedis, type BusFixture } from './support.js'

afterAll(stopSharedRedis)

const tick = () => new Promise((r) => setTimeout(r, 20))

describe('keys', () => {
  it('builds one name for snapshot and channel, with the id as hash tag', () => {
    expect(jobKey('jobcast:', 'export-42')).toBe('jobcast:job:{export-42}')
  })
})

describe.each(busKinds)('$name bus contract', (kind) => {
  let fx: BusFixture
  afterEach(() => fx?.close())

  it('publishes, assigns a seq, and returns the snapshot with its exact JSON', async () => {
    fx = await kind.create()
    const out = await fx.bus.publish({ id: 'j1', status: 'active', progress: 10, message: 'go', data: { n: 1 }, ts: 5 })
    expect(out.published).toBe(true)
    if (!out.published) return
    expect(out.event).toEqual({ seq: out.event.seq, id: 'j1', status: 'active', progress: 10, message: 'go', data: { n: 1 }, ts: 5 })
    expect(out.event.seq).toBeGreaterThan((Date.now() - 60_000) * 1000)
    const snap = await fx.bus.get('j1')
    expect(snap?.event).toEqual(out.event)
    expect(snap?.json).toBe(JSON.stringify(out.event))
    expect(await fx.bus.get('unknown')).toBeNull()
  })

  it('keeps seq strictly increasing', async () => {
    fx = await kind.create()
    const outs = await Promise.all(Array.from({ length: 50 }, (_, i) => fx.bus.publish({ id: 'j2', status: 'active', progress: i })))
    const seqs = outs.map((o) => (o.published ? o.event.seq : -1))
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!)
  })

  it('refuses any event after a terminal one and publishes nothing', async () => {
    fx = await kind.create()
    const got: BusEvent[] = []
    await fx.bus.subscribe('j3', (m) => got.push(m))
    const done = await fx.bus.publish({ id: 'j3', status: 'completed', result: { url: '/x' } })
    const again = await fx.bus.publish({ id: 'j3', status: 'failed', error: { message: 'late' } })
    expect(again).toEqual({ published: false, reason: 'terminal', current: done.published ? done.event : null })
    await tick()
    expect(got.map((m) => m.event.status)).toEqual(['completed'])
    expect((await fx.bus.get('j3'))?.event.status).toBe('completed')
  })

  it('expires snapshots after the TTL, and seq still grows afterwards', async () => {
    fx = await kind.create({ ttlSeconds: 1 })
    const first = await fx.bus.publish({ id: 'j4', status: 'completed' })
    await new Promise((r) => setTimeout(r, 1100))
    expect(await fx.bus.get('j4')).toBeNull()
    const next = await fx.bus.publish({ id: 'j4', status: 'queued' })
    expect(next.published && first.published && next.event.seq > first.event.seq).toBe(true)
  })

  it('delivers to every listener, stops after unsubscribe, and counts references', async () => {
    fx = await kind.create()
    const a: number[] = []
    const b: number[] = []
    const offA = await fx.bus.subscribe('j5', (m) => a.push(m.event.progress ?? -1))
    const offB = await fx.bus.subscribe('j5', (m) => b.push(m.event.progress ?? -1))
    const channel = jobKey(fx.prefix, 'j5')
    if (fx.raw) expect(await fx.raw.pubsub('SHARDNUMSUB', channel)).toEqual([channel, 1])
    await fx.bus.publish({ id: 'j5', status: 'active', progress: 1 })
    await eventually(() => a.length === 1 && b.length === 1)
    offA()
    offA()
    await fx.bus.publish({ id: 'j5', status: 'active', progress: 2 })
    await eventually(() => b.length === 2)
    expect(a).toEqual([1])
    offB()
    if (fx.raw) await eventually(async () => (await fx.raw!.pubsub('SHARDNUMSUB', channel))[1] === 0)
    await fx.bus.publish({ id: 'j5', status: 'active', progress: 3 })
    await tick()
    expect(b).toEqual([1, 2])
  })

  it('is subscribed once subscribe() resolves', async () => {
    fx = await kind.create()
    const got: BusEvent[] = []
    await fx.bus.subscribe('j6', (m) => got.push(m))
    await fx.bus.publish({ id: 'j6', status: 'queued' })
    await eventually(() => got.length === 1)
  })

  it('keeps empty arrays and nested data intact through the round trip', async () => {
    fx = await kind.create()
    const got: BusEvent[] = []
    await fx.bus.subscribe('j7', (m) => got.push(m))
    const data = { rows: [], nested: { list: [[], {}], s: 'é"\\' } }
    await fx.bus.publish({ id: 'j7', status: 'active', data })
    await eventually(() => got.length === 1)
    expect(got[0]!.event.data).toEqual(data)
    expect((await fx.bus.get('j7'))?.event.data).toEqual(data)
  })

  it('rejects invalid input with typed errors', async () => {
    fx = await kind.create()
    const bad = async (input: unknown) => {
      try {
        await fx.bus.publish(input as never)
      } catch (error) {
        expect(isValidationError(error)).toBe(true)
        return (error as { code: string }).code
      }
      return 'accepted'
    }
    expect(await bad({ id: 'a b', status: 'queued' })).toBe('invalid_job_id')
    expect(await bad({ id: 'x'.repeat(129), status: 'queued' })).toBe('invalid_job_id')
    expect(await bad({ id: 'ok', status: 'done' })).toBe('invalid_event')
    expect(await bad({ id: 'ok', status: 'failed' })).toBe('invalid_event')
    expect(await bad({ id: 'ok', status: 'active', progress: 101 })).toBe('invalid_event')
    expect(await bad({ id: 'ok', status: 'active', data: [] })).toBe('invalid_event')
    expect(await bad({ id: 'ok', status: 'active', data: { big: 'x'.repeat(70_000) } })).toBe('invalid_event')
    expect(await fx.bus.get('ok')).toBeNull()
  })

  it('restores a lost snapshot with its seq, never over a newer or terminal one, and publishes it', async () => {
    fx = await kind.create()
    const got: number[] = []
    await fx.bus.subscribe('j8', (m) => got.push(m.event.seq))
    const message = (seq: number, status: string): BusEvent => {
      const json = `{"seq":${seq},"id":"j8","status":"${status}","ts":1}`
      return { event: JSON.parse(json), json }
    }
    expect(await fx.bus.restore(message(100, 'active'))).toBe(true)
    expect((await fx.bus.get('j8'))?.json).toBe(message(100, 'active').json)
    expect(await fx.bus.restore(message(100, 'active'))).toBe(false)
    expect(await fx.bus.restore(message(90, 'active'))).toBe(false)
    expect(await fx.bus.restore(message(200, 'completed'))).toBe(true)
    expect(await fx.bus.restore(message(300, 'active'))).toBe(false)
    expect((await fx.bus.get('j8'))?.event).toMatchObject({ seq: 200, status: 'completed' })
    // A publish after a restore follows the restored seq.
    const late = await fx.bus.publish({ id: 'j8', status: 'active' })
    expect(late.published).toBe(false)
    await eventually(() => got.length === 2)
    expect(got).toEqual([100, 200])
  })

  it('closes once, returning the same promise, and refuses work afterwards', async () => {
    fx = await kind.create()
    const states: string[] = []
    fx.bus.onStateChange((state) => states.push(state))
    const first = fx.bus.close()
    expect(fx.bus.close()).toBe(first)
    await first
    expect(fx.bus.state).toBe('closed')
    expect(states).toEqual(['closed'])
    await expect(fx.bus.get('x')).rejects.toMatchObject({ code: 'bus_unavailable' })
  })

  if (kind.name === 'redis') {
    it('drops and counts malformed messages on a job channel', async () => {
      fx = await kind.create()
      const got: BusEvent[] = []
      await fx.bus.subscribe('j8', (m) => got.push(m))
      const channel = jobKey(fx.prefix, 'j8')
      await fx.raw!.spublish(channel, 'not json')
      await fx.raw!.spublish(channel, '{"seq":1,"id":"other","status":"queued","ts":1}')
      await fx.raw!.spublish(channel, JSON.stringify({ seq: 2, id: 'j8', status: 'queued', ts: 1, pad: 'x'.repeat(70_000) }))
      await fx.bus.publish({ id: 'j8', status: 'queued' })
      await eventually(() => got.length === 1)
      expect((fx.bus as RedisBus).stats.dropped).toBe(3)
    })

    it('subscribes a burst of jobs with one SSUBSCRIBE and releases them with one SUNSUBSCRIBE', async () => {
      fx = await kind.create()
      const calls = async (command: string): Promise<number> => {
        const info = await fx.raw!.info('commandstats')
        return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
      }
      // Settle the fixture's own subscriptions first.
      await fx.bus.subscribe('warm', () => {})
      const [sub0, unsub0] = [await calls('ssubscribe'), await calls('sunsubscribe')]
      const ids = Array.from({ length: 300 }, (_, i) => `burst-${i}`)
      const got = new Set<string>()
      const offs = await Promise.all(ids.map((id) => fx.bus.subscribe(id, (m) => got.add(m.event.id))))
      expect(await calls('ssubscribe')).toBe(sub0 + 1)
      const channels = ids.map((id) => jobKey(fx.prefix, id))
      const numsub = (await fx.raw!.pubsub('SHARDNUMSUB', ...channels)) as (string | number)[]
      expect(numsub.filter((_, i) => i % 2 === 1)).toEqual(channels.map(() => 1))
      // Every job is live.
      await Promise.all(ids.map((id) => fx.bus.publish({ id, status: 'queued' })))
      await eventually(() => got.size === ids.length)
      for (const off of offs) off()
      await eventually(async () => ((await fx.raw!.pubsub('SHARDNUMSUB', ...channels)) as (string | number)[]).every((v, i) => i % 2 === 0 || v === 0))
      expect(await calls('sunsubscribe')).toBe(unsub0 + 1)
    })
  }
})
