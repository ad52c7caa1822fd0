/**
 * What the installed ioredis does with pub/sub (classic and sharded) behind Redis Sentinel when
 * the master fails over: the behaviour the Redis bus relies on (issue 12).
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js'
import { redisCli, subscribersOn, waitUntil } from '../support/redis-topology.js'

describe('ioredis pub/sub behind Sentinel', () => {
  let group: TestSentinelGroup
  let subscriber: Redis
  let command: Redis
  const received: string[] = []
  const events: string[] = []
  const channel = 'jobcast:job:{sentinel-probe}'

  beforeAll(async () => {
    group = await startSentinelGroup()
    const sentinels = group.sentinels.map((address) => ({ host: '127.0.0.1', port: Number(address.split(':')[1]) }))
    subscriber = new Redis({ sentinels, name: group.name })
    command = new Redis({ sentinels, name: group.name })
    for (const client of [subscriber, command]) client.on('error', () => {})
    for (const name of ['connect', 'ready', 'close', 'reconnecting', 'end', 'error', '+failover']) subscriber.on(name, () => events.push(name))
    subscriber.on('message', (from: string, message: string) => received.push(`${from} ${message}`))
    subscriber.on('smessage', (from: string, message: string) => received.push(`shard ${from} ${message}`))
    await subscriber.subscribe(channel)
  }, 60_000)
  afterAll(async () => {
    subscriber?.disconnect()
    command?.disconnect()
    await group?.stop()
  })

  it('connects both connections to the master the sentinels name', async () => {
    const master = await group.masterPort()
    expect(await subscribersOn(master, channel, 'classic')).toBe(1)
    expect(await command.publish(channel, 'before')).toBe(1)
    await waitUntil('the message', async () => received.length === 1)
    expect(received).toEqual([`${channel} before`])
  })

  it('after a failover, both reconnect to the promoted replica, the subscriber re-subscribes by itself and emits `ready` again', async () => {
    received.length = 0
    events.length = 0
    const promoted = await group.killMaster()
    // Re-subscription is sent on reconnect and not awaited before `ready`: poll the server.
    await waitUntil(`the subscription on ${promoted}`, async () => (await subscribersOn(promoted, channel, 'classic')) === 1, 20_000)
    expect(events).toContain('close')
    expect(events).toContain('reconnecting')
    expect(events).toContain('ready')
    expect(events).not.toContain('end')
    // The command connection queues while it reconnects, then lands on the promoted master.
    expect(await command.publish(channel, 'after-failover')).toBe(1)
    await waitUntil('the message published after the failover', async () => received.length === 1)
    expect(received).toEqual([`${channel} after-failover`])
  }, 60_000)

  it('after a manual SENTINEL FAILOVER (the old master lives on as a replica), both move to the new master: Sentinel closes the demoted node’s clients', async () => {
    const old = await group.masterPort()
    await group.restart(group.dataPorts.find((port) => port !== old) as number)
    received.length = 0
    events.length = 0
    // Refused (NOGOODSLAVE) until the sentinel has fresh INFO from the restarted replica.
    const sentinelPort = Number(group.sentinels[0]?.split(':')[1])
    await waitUntil('SENTINEL FAILOVER to be accepted', async () => (await redisCli(sentinelPort, ['SENTINEL', 'FAILOVER', group.name])) === 'OK')
    const promoted = await waitUntil('the sentinels to name a new master', async () => {
      const now = await group.masterPort()
      return now !== old ? now : undefined
    })
    await waitUntil(`the subscription on ${promoted}`, async () => (await subscribersOn(promoted, channel, 'classic')) === 1, 20_000)
    expect(await subscribersOn(old, channel, 'classic')).toBe(0)
    expect(events).toContain('ready')
    // A write on the demoted node would fail with READONLY: the command connection moved too.
    await expect.poll(() => command.set(channel, 'snapshot').then(() => 'ok', (error: unknown) => String(error)), { timeout: 10_000 }).toBe('ok')
    expect(await command.publish(channel, 'after-manual-failover')).toBe(1)
    await waitUntil('the message published after the manual failover', async () => received.length === 1)
    expect(received).toEqual([`${channel} after-manual-failover`])
  }, 60_000)

  it('sharded pub/sub too: after a failover, ioredis re-subscribes the shard channel on the promoted replica by itself', async () => {
    const shard = 'jobcast:job:{sentinel-shard}'
    await subscriber.ssubscribe(shard)
    const before = await group.masterPort()
    expect(await subscribersOn(before, shard, 'shard')).toBe(1)
    // The killed master must have a replica to promote: bring the other data node back first.
    const other = group.dataPorts.find((port) => port !== before) as number
    if ((await redisCli(other, ['PING']).catch(() => 'down')) !== 'PONG') await group.restart(other)
    received.length = 0
    const promoted = await group.killMaster()
    await waitUntil(`the shard subscription on ${promoted}`, async () => (await subscribersOn(promoted, shard, 'shard')) === 1, 20_000)
    expect(await command.spublish(shard, 'after-failover')).toBe(1)
    await waitUntil('the sharded message published after the failover', async () => received.length === 1)
    expect(received).toEqual([`shard ${shard} after-failover`])
  }, 60_000)
})
