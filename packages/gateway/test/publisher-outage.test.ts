/**
 * The Node publisher against a real redis-server that is killed and restarted empty: calls
 * wait and land in order, progress merges, the retryFor / maxQueued / closeTimeout bounds
 * reject with `bus_unavailable`, a lost reply is resent safely, and the last event of each job
 * is restored before anything queued is sent.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jobKey } from '../src/bus/keys.js'
import { createPublisher, type Publisher, type PublisherOptions, type PublishOutcome } from '../src/publisher.js'
import { randomPrefix, startRedisWithClient, type TestRedisWithClient } from '../../../test/support/redis.js'
import { eventually } from './support.js'

let redis: TestRedisWithClient
const publishers: Publisher[] = []

beforeAll(async () => {
  redis = await startRedisWithClient()
})
afterAll(() => redis?.stop())
afterEach(async () => {
  // Up again (and empty) for the next test, whatever this one did to it.
  await redis.restart()
  await Promise.all(publishers.splice(0).map((p) => p.close().catch(() => {})))
})

function publisher(options: PublisherOptions = {}): Publisher {
  const p = createPublisher({ url: redis.url, prefix: randomPrefix(), ...options })
  publishers.push(p)
  return p
}

/** Settles without throwing, so a test can await many calls and look at each. */
function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: { code?: string; message: string; name: string } }> {
  return promise.then(
    (value) => ({ value }),
    (error: Error & { code?: string }) => ({ error }),
  )
}

/** Kills Redis and waits until connections have seen it go (ours and, at the same moment, the publisher's). */
async function killRedis(): Promise<void> {
  await redis.kill()
  await eventually(() => redis.raw.status !== 'ready')
  await new Promise((r) => setTimeout(r, 50))
}

const seqOf = (outcome: PublishOutcome | undefined) => (outcome?.published ? outcome.event.seq : -1)

describe('publisher during a Redis outage', () => {
  it('queues calls while Redis is down and sends them in order after it restarts empty, merging progress', async () => {
    const prefix = randomPrefix()
    const p = publisher({ prefix })
    await p.active('a', { progress: 0 })
    await p.complete('done', { n: 1 })
    await killRedis()
    const calls = {
      a10: settled(p.progress('a', 10)),
      a20: settled(p.progress('a', 20)),
      a30: settled(p.progress('a', 30)),
      aDone: settled(p.complete('a', { rows: 3 })),
      bQueued: settled(p.queued('b')),
      bActive: settled(p.active('b')),
      lateCancel: settled(p.cancel('done')),
    }
    await new Promise((r) => setTimeout(r, 300))
    await redis.restart()
    const got = Object.fromEntries(await Promise.all(Object.entries(calls).map(async ([name, call]) => [name, await call] as const)))
    for (const [name, outcome] of Object.entries(got)) expect(outcome.error, name).toBeUndefined()
    // The three waiting progress events became one: every call got the outcome of progress 30.
    expect(got.a10!.value).toEqual(got.a30!.value)
    expect(got.a20!.value).toEqual(got.a30!.value)
    expect(got.a30!.value).toMatchObject({ published: true, event: { progress: 30 } })
    expect(seqOf(got.aDone!.value)).toBeGreaterThan(seqOf(got.a30!.value))
    expect(seqOf(got.bActive!.value)).toBeGreaterThan(seqOf(got.bQueued!.value))
    expect(got.bQueued!.value).toMatchObject({ published: true, event: { status: 'queued' } })
    // 'done' was restored before the queued cancel was sent, so the cancel is refused.
    expect(got.lateCancel!.value).toMatchObject({ published: false, reason: 'terminal', current: { status: 'completed' } })
    expect(JSON.parse((await redis.raw.get(jobKey(prefix, 'a')))!)).toMatchObject({ status: 'completed', result: { rows: 3 } })
    expect(JSON.parse((await redis.raw.get(jobKey(prefix, 'done')))!)).toMatchObject({ status: 'completed', result: { n: 1 } })
  })

  it('waits for Redis that is not reachable yet when the publisher starts', async () => {
    await killRedis()
    const p = publisher()
    const call = settled(p.queued('early'))
    await new Promise((r) => setTimeout(r, 300))
    await redis.restart()
    expect((await call).value).toMatchObject({ published: true, event: { status: 'queued' } })
  })

  it('rejects a call with bus_unavailable naming retryFor once it has waited that long', async () => {
    const p = publisher({ retryFor: 400 })
    await p.queued('r')
    await killRedis()
    const started = Date.now()
    const outcome = await settled(p.active('r'))
    expect(Date.now() - started).toBeGreaterThanOrEqual(390)
    expect(outcome.error).toMatchObject({ name: 'JobcastError', code: 'bus_unavailable' })
    expect(outcome.error?.message).toMatch(/^\[jobcast\] the active event of job r was not published: .*retryFor \(400 ms\).*raise retryFor/)
    await p.flush()
  })

  it('rejects a call beyond maxQueued at once, and sends the ones it kept', async () => {
    const prefix = randomPrefix()
    const p = publisher({ prefix, maxQueued: 2 })
    await p.queued('m0')
    await killRedis()
    const kept = [settled(p.queued('m1')), settled(p.queued('m2'))]
    const refused = await settled(p.queued('m3'))
    expect(refused.error).toMatchObject({ code: 'bus_unavailable' })
    expect(refused.error?.message).toMatch(/maxQueued \(2\) events already wait for Redis.*raise maxQueued/)
    // Progress merged into a waiting one takes no room.
    await redis.restart()
    for (const outcome of await Promise.all(kept)) expect(outcome.value?.published).toBe(true)
    expect(await redis.raw.exists(jobKey(prefix, 'm3'))).toBe(0)
  })

  it('flush() resolves once every queued call has landed', async () => {
    const p = publisher()
    await p.queued('f')
    await killRedis()
    const calls = [settled(p.active('f')), settled(p.progress('f', 50)), settled(p.complete('f'))]
    let flushed = false
    const flushing = p.flush().then(() => (flushed = true))
    await new Promise((r) => setTimeout(r, 300))
    expect(flushed).toBe(false)
    await redis.restart()
    await flushing
    const outcomes = await Promise.all(calls)
    expect(outcomes.every((o) => o.value?.published)).toBe(true)
  })

  it('close() rejects what still waits after closeTimeout, returns the same promise twice, and refuses later calls', async () => {
    const p = publisher({ closeTimeout: 300 })
    await p.queued('c')
    await killRedis()
    const waiting = settled(p.complete('c'))
    const started = Date.now()
    const closing = p.close()
    expect(p.close()).toBe(closing)
    await closing
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    const outcome = await waiting
    expect(outcome.error).toMatchObject({ code: 'bus_unavailable' })
    expect(outcome.error?.message).toMatch(/closeTimeout \(300 ms\).*flush\(\) before close\(\)/)
    const late = await settled(p.queued('c2'))
    expect(late.error).toMatchObject({ code: 'bus_unavailable' })
    expect(late.error?.message).toMatch(/publisher is closed/)
  })

  it('close() sends what waits when Redis comes back within closeTimeout', async () => {
    const prefix = randomPrefix()
    const p = publisher({ prefix, closeTimeout: 10_000 })
    await p.queued('cw')
    await killRedis()
    const waiting = settled(p.complete('cw'))
    const closing = p.close()
    await new Promise((r) => setTimeout(r, 200))
    await redis.restart()
    await closing
    expect((await waiting).value?.published).toBe(true)
    expect(JSON.parse((await redis.raw.get(jobKey(prefix, 'cw')))!).status).toBe('completed')
  })

  it('refuses bad options with invalid_config', () => {
    expect(() => createPublisher({ url: redis.url, retryFor: 0 })).toThrow(expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(/^\[jobcast\] retryFor must be a number > 0/) }))
    expect(() => createPublisher({ url: redis.url, maxQueued: -1 })).toThrow(expect.objectContaining({ code: 'invalid_config' }))
  })
})

/**
 * A TCP proxy in front of Redis that, once armed, lets the next command through but cuts both
 * sockets instead of forwarding its reply: the script ran, the publisher never heard back.
 */
async function startReplyCutter(port: number): Promise<{ port: number; armNextReply(): void; close(): Promise<void> }> {
  let armed = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      if (!armed) return void client.write(chunk)
      armed = false
      client.destroy()
      upstream.destroy()
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    armNextReply: () => void (armed = true),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('publisher with a lost reply', () => {
  it('sends the event again and resolves with its first outcome; it is published once', async () => {
    const cutter = await startReplyCutter(redis.port)
    const prefix = randomPrefix()
    const listener = new Redis(redis.url)
    listener.on('error', () => {})
    try {
      const received: string[] = []
      listener.on('smessage', (_channel: string, json: string) => received.push(json))
      await listener.ssubscribe(jobKey(prefix, 'lost'))
      const p = publisher({ url: `redis://127.0.0.1:${cutter.port}`, prefix })
      // The first call loads the script, so the armed cut hits the publish itself.
      await p.queued('lost')
      cutter.armNextReply()
      const outcome = await p.complete('lost', { ok: true })
      expect(outcome.published).toBe(true)
      await eventually(() => received.length >= 2)
      await listener.ping()
      expect(received.map((json) => JSON.parse(json).status)).toEqual(['queued', 'completed'])
      expect(seqOf(outcome)).toBe(JSON.parse(received[1]!).seq)
    } finally {
      listener.disconnect()
      await cutter.close()
    }
  })
})
