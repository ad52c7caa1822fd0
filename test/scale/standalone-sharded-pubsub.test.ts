/**
 * What the installed ioredis does with sharded pub/sub on one Redis server: the bus SSUBSCRIBEs
 * on every topology (issue 12), so these facts must hold as they do for classic pub/sub.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type TestRedis } from '../support/redis.js'
import { subscribersOn, waitUntil } from '../support/redis-topology.js'

describe('ioredis sharded pub/sub on one Redis', () => {
  let redis: TestRedis
  let subscriber: Redis
  let command: Redis
  const received: string[] = []
  const channels = ['jobcast:job:{a}', 'jobcast:job:{b}', 'jobcast:job:{c}']

  beforeAll(async () => {
    redis = await startRedis()
    subscriber = new Redis(redis.url, { retryStrategy: () => 100 })
    command = new Redis(redis.url, { retryStrategy: () => 100 })
    for (const client of [subscriber, command]) client.on('error', () => {})
    subscriber.on('smessage', (channel: string, message: string) => received.push(`${channel} ${message}`))
  })
  afterAll(async () => {
    subscriber?.disconnect()
    command?.disconnect()
    await redis?.stop()
  })

  it('one SSUBSCRIBE may name channels of different slots (only a cluster refuses that), and resolves once confirmed', async () => {
    expect(await subscriber.ssubscribe(...channels)).toBe(3)
    for (const channel of channels) expect(await subscribersOn(redis.port, channel, 'shard')).toBe(1)
    expect(await command.spublish('jobcast:job:{b}', 'one')).toBe(1)
    await waitUntil('the message', async () => received.length === 1)
    expect(received).toEqual(['jobcast:job:{b} one'])
  })

  it('after Redis restarts, ioredis re-subscribes the shard channels by itself (only those still subscribed)', async () => {
    received.length = 0
    await subscriber.sunsubscribe('jobcast:job:{a}')
    const ready = new Promise<void>((resolve) => subscriber.once('ready', () => resolve()))
    await redis.restart()
    await ready
    await waitUntil('the re-subscription', async () => (await subscribersOn(redis.port, 'jobcast:job:{c}', 'shard')) === 1, 10_000)
    expect(await subscribersOn(redis.port, 'jobcast:job:{b}', 'shard')).toBe(1)
    expect(await subscribersOn(redis.port, 'jobcast:job:{a}', 'shard')).toBe(0)
    expect(await command.spublish('jobcast:job:{c}', 'after-restart')).toBe(1)
    await waitUntil('the message after the restart', async () => received.length === 1)
    expect(received).toEqual(['jobcast:job:{c} after-restart'])
  })

  it('a classic SUBSCRIBE of the same name receives nothing from SPUBLISH (listeners of their own must SSUBSCRIBE)', async () => {
    const classic = new Redis(redis.url)
    const messages: string[] = []
    classic.on('message', (_: string, message: string) => messages.push(message))
    try {
      await classic.subscribe('jobcast:job:{b}')
      expect(await command.spublish('jobcast:job:{b}', 'sharded')).toBe(1)
      await command.publish('jobcast:job:{b}', 'classic')
      await waitUntil('the classic message', async () => messages.length > 0)
      expect(messages).toEqual(['classic'])
    } finally {
      classic.disconnect()
    }
  })
})
