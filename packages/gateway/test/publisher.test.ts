import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createMemoryBus } from '../src/bus/memory-bus.js'
import { jobKey } from '../src/bus/keys.js'
import { PUBLISH, PUBLISH_SCRIPT, RESTORE } from '../src/bus/scripts.js'
import { createPublisher, type Publisher } from '../src/publisher.js'
import { randomPrefix } from '../../../test/support/redis.js'
import { sharedRedis, stopSharedRedis } from './support.js'

afterAll(stopSharedRedis)

const kinds: { name: string; make: () => Promise<Publisher> }[] = [
  { name: 'memory', make: async () => createPublisher({ bus: createMemoryBus() }) },
  { name: 'redis', make: async () => createPublisher({ url: (await sharedRedis()).url, prefix: randomPrefix() }) },
]

describe.each(kinds)('publisher over $name', ({ make }) => {
  it('publishes every lifecycle step with the right status and fields', async () => {
    const p = await make()
    try {
      const steps = [
        await p.queued('p1', { message: 'waiting' }),
        await p.active('p1'),
        await p.progress('p1', 40, { data: { processed: 4, total: 10 } }),
        await p.complete('p1', { downloadUrl: '/f' }),
      ]
      expect(steps.map((s) => (s.published ? [s.event.status, s.event.progress] : 'refused'))).toEqual([
        ['queued', undefined],
        ['active', undefined],
        ['active', 40],
        ['completed', 100],
      ])
      const last = steps[3]!
      expect(last.published && last.event.result).toEqual({ downloadUrl: '/f' })
      const late = await p.cancel('p1')
      expect(late).toMatchObject({ published: false, reason: 'terminal', current: { status: 'completed' } })
    } finally {
      await p.close()
      await p.close()
    }
  })

  it('accepts a string, an Error or an object for fail()', async () => {
    const p = await make()
    try {
      const coded = Object.assign(new Error('disk full'), { code: 'ENOSPC' })
      const a = await p.fail('f1', 'boom')
      const b = await p.fail('f2', coded)
      const c = await p.fail('f3', { message: 'm', code: 'c' })
      expect([a, b, c].map((o) => o.published && o.event.error)).toEqual([
        { message: 'boom' },
        { message: 'disk full', code: 'ENOSPC' },
        { message: 'm', code: 'c' },
      ])
    } finally {
      await p.close()
    }
  })

  it('throws typed validation errors', async () => {
    const p = await make()
    try {
      await expect(p.queued('bad id')).rejects.toMatchObject({ name: 'ValidationError', code: 'invalid_job_id' })
      await expect(p.progress('ok', 140)).rejects.toMatchObject({ name: 'ValidationError', code: 'invalid_event' })
      await expect(p.publish({ id: 'ok', status: 'failed' })).rejects.toMatchObject({ code: 'invalid_event' })
    } finally {
      await p.close()
    }
  })
})

describe('the publish script from any language', () => {
  it('runs through a raw EVAL as a Python or PHP worker would call it', async () => {
    const redis = await sharedRedis()
    const raw = new Redis(redis.url)
    const prefix = randomPrefix()
    const key = jobKey(prefix, 'py-1')
    try {
      const body = '{"id":"py-1","status":"active","data":{"rows":[]},"ts":1764287374123}'
      const first = (await raw.eval(PUBLISH_SCRIPT, 1, key, body, 60)) as [number, string]
      expect(first[0]).toBe(1)
      expect(first[1]).toMatch(/^\{"seq":\d{16},"id":"py-1","status":"active","data":\{"rows":\[\]\},"ts":1764287374123\}$/)
      expect(await raw.get(key)).toBe(first[1])
      expect(await raw.ttl(key)).toBeGreaterThan(55)
      const done = (await raw.eval(PUBLISH_SCRIPT, 1, key, '{"id":"py-1","status":"cancelled","ts":1}', 60)) as [number, string]
      expect(JSON.parse(done[1]).seq).toBeGreaterThan(JSON.parse(first[1]).seq)
      const refused = await raw.eval(PUBLISH_SCRIPT, 1, key, '{"id":"py-1","status":"active","ts":2}', 60)
      expect(refused).toEqual([0, done[1]])
      await expect(raw.eval(PUBLISH_SCRIPT, 1, key, '{}', 60)).rejects.toThrow(/^invalid_event: id /)
    } finally {
      raw.disconnect()
    }
  })

  it('answers a resent event with its first outcome and publishes it once', async () => {
    const redis = await sharedRedis()
    const raw = new Redis(redis.url)
    const listener = new Redis(redis.url)
    const key = jobKey(randomPrefix(), 'resend-1')
    try {
      const received: string[] = []
      listener.on('smessage', (_channel: string, json: string) => received.push(json))
      await listener.ssubscribe(key)
      const body = '{"id":"resend-1","status":"completed","result":{"n":1},"ts":5}'
      const first = (await raw.eval(PUBLISH_SCRIPT, 1, key, body, 60)) as [number, string]
      const again = (await raw.eval(PUBLISH_SCRIPT, 1, key, body, 60)) as [number, string]
      expect(again).toEqual(first)
      // A different event after the terminal one is still refused.
      expect(await raw.eval(PUBLISH_SCRIPT, 1, key, '{"id":"resend-1","status":"completed","ts":6}', 60)).toEqual([0, first[1]])
      await raw.ping()
      await listener.ping()
      expect(received).toEqual([first[1]])
    } finally {
      raw.disconnect()
      listener.disconnect()
    }
  })

  it('restores a lost snapshot, never over a newer or terminal one', async () => {
    const redis = await sharedRedis()
    const raw = new Redis(redis.url)
    const key = jobKey(randomPrefix(), 'restore-1')
    const restore = (json: string) => raw.eval(RESTORE.source, 1, key, json, 60)
    try {
      const active = '{"seq":100,"id":"restore-1","status":"active","progress":50,"ts":1}'
      const done = '{"seq":200,"id":"restore-1","status":"completed","ts":2}'
      expect(await restore(active)).toBe(1)
      expect(await raw.get(key)).toBe(active)
      expect(await restore(active)).toBe(0)
      expect(await restore(done)).toBe(1)
      expect(await raw.get(key)).toBe(done)
      expect(await restore('{"seq":300,"id":"restore-1","status":"active","ts":3}')).toBe(0)
      expect(await raw.get(key)).toBe(done)
      await expect(restore('{"id":"restore-1"}')).rejects.toThrow(/numeric seq/)
    } finally {
      raw.disconnect()
    }
  })

  it('lets a publish sent just before close() finish', async () => {
    const redis = await sharedRedis()
    const prefix = randomPrefix()
    const p = createPublisher({ url: redis.url, prefix })
    const last = p.complete('bye', { ok: true })
    await p.close()
    expect((await last).published).toBe(true)
    const raw = new Redis(redis.url)
    try {
      expect(JSON.parse((await raw.get(jobKey(prefix, 'bye')))!).status).toBe('completed')
    } finally {
      raw.disconnect()
    }
  })

  it('are quoted verbatim in docs/protocol.md', () => {
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8')
    expect(doc).toContain('```lua\n' + PUBLISH.source + '```')
    expect(doc).toContain('```lua\n' + RESTORE.source + '```')
  })
})
