/**
 * What the installed ioredis does with sharded pub/sub on a real Redis Cluster: the behaviour the
 * Redis bus will rely on (issue 12). Each test pins one fact; the tests run in order on one
 * cluster, and the later ones change its topology (a failover, a slot move).
 */
import { Cluster } from 'ioredis'
import { createRedisConnections } from '../../packages/gateway/src/bus/redis-connection.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { redisCli, subscribersOn, waitUntil } from '../support/redis-topology.js'

function clusterClient(nodes: readonly string[], shardedSubscribers: boolean): Cluster {
  const client = new Cluster(
    nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    { shardedSubscribers },
  )
  // Failovers make nodes refuse connections: without a listener ioredis reports them as unhandled errors.
  client.on('error', () => {})
  return client
}

describe('ioredis sharded pub/sub on a Redis Cluster', () => {
  let cluster: TestCluster
  /** One shard channel per master, keyed by the master's port at the start. */
  const channels = new Map<number, string>()
  let subscriber: Cluster
  let publisher: Cluster
  const received: string[] = []
  const events: string[] = []

  beforeAll(async () => {
    cluster = await startCluster()
    for (let index = 0; channels.size < 3; index++) {
      const channel = `jobcast:job:{probe-${index}}`
      const owner = await cluster.masterOf(channel)
      if (!channels.has(owner)) channels.set(owner, channel)
    }
    publisher = clusterClient(cluster.nodes, false)
  }, 60_000)
  afterAll(async () => {
    subscriber?.disconnect()
    publisher?.disconnect()
    await cluster?.stop()
  })

  it('without shardedSubscribers, SSUBSCRIBE goes to one node and channels of other masters fail with MOVED (ioredis issue 1759)', async () => {
    const plain = clusterClient(cluster.nodes, false)
    try {
      const outcomes = await Promise.allSettled([...channels.values()].map((channel) => plain.ssubscribe(channel)))
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected')
      // Its one subscriber connection is a random node: it can own (or replicate) at most one of the three slots.
      expect(refused.length).toBeGreaterThanOrEqual(2)
      for (const outcome of refused) expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/MOVED \d+ 127\.0\.0\.1:\d+/)
    } finally {
      plain.disconnect()
    }
  })

  it('classic SUBSCRIBE on a cluster gets a PUBLISH made on any master: every message is broadcast to every node', async () => {
    const classic = clusterClient(cluster.nodes, false)
    const messages: string[] = []
    classic.on('message', (_: string, message: string) => messages.push(message))
    try {
      await classic.subscribe('jobcast:classic')
      for (const port of channels.keys()) await redisCli(port, ['PUBLISH', 'jobcast:classic', String(port)])
      await waitUntil('three classic messages', async () => messages.length === 3)
      expect(messages.sort()).toEqual([...channels.keys()].map(String).sort())
    } finally {
      classic.disconnect()
    }
  })

  it('with shardedSubscribers, SSUBSCRIBE goes to the master owning each channel and SPUBLISH reaches it as `smessage`', async () => {
    subscriber = clusterClient(cluster.nodes, true)
    for (const name of ['-node', '+node', '-subscriber', '+subscriber', 'subscribersReady', 'error', 'nodeError', 'node error', 'ready', 'close', 'reconnecting', 'refresh']) {
      subscriber.on(name, () => events.push(name))
    }
    subscriber.on('smessage', (channel: string, message: string) => received.push(`${channel} ${message}`))
    for (const channel of channels.values()) await subscriber.ssubscribe(channel)
    for (const [port, channel] of channels) expect(await subscribersOn(port, channel, 'shard')).toBe(1)
    for (const channel of channels.values()) await publisher.spublish(channel, 'one')
    await waitUntil('three sharded messages', async () => received.length === 3)
    expect(received.sort()).toEqual([...channels.values()].map((channel) => `${channel} one`).sort())
  })

  it('one SSUBSCRIBE naming channels of two slots is refused by ioredis itself (batches must be per slot)', async () => {
    const [first, second] = [...channels.values()]
    await expect(subscriber.ssubscribe(first as string, second as string)).rejects.toThrow(/CROSSSLOT/)
  })

  it('SPUBLISH inside a script, on the channel named like the key it writes, reaches sharded subscribers', async () => {
    received.length = 0
    const channel = [...channels.values()][0] as string
    const script = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('SPUBLISH', KEYS[1], ARGV[1])"
    expect(await publisher.eval(script, 1, channel, 'scripted')).toBe(1)
    await waitUntil('the scripted message', async () => received.length === 1)
    expect(received).toEqual([`${channel} scripted`])
  })

  it('after a master is killed and its replica promoted, ioredis re-subscribes on the new master by itself (only what is still subscribed) and emits `subscribersReady`', async () => {
    received.length = 0
    events.length = 0
    const [victim, channel] = [...channels][0] as [number, string]
    // Same slot (same hash tag), subscribed then unsubscribed: it must not come back.
    const dropped = channel.replace('jobcast:job:', 'jobcast:dropped:')
    await subscriber.ssubscribe(dropped)
    await subscriber.sunsubscribe(dropped)
    expect(await subscribersOn(victim, dropped, 'shard')).toBe(0)
    const promoted = await cluster.killMaster(victim)
    // The re-subscription is sent after the new topology is read, and not awaited before
    // `subscribersReady`: poll the server until it counts the subscriber.
    await waitUntil(`the subscription to ${channel} on ${promoted}`, async () => (await subscribersOn(promoted, channel, 'shard')) === 1, 20_000)
    expect(await subscribersOn(promoted, dropped, 'shard')).toBe(0)
    // While the master is down, ioredis retries it without a pause: each failed connection is
    // an `error` on the Cluster (a listener is required) and a `-node`, then `subscribersReady`.
    expect(events).toContain('error')
    expect(events).toContain('-node')
    expect(events).toContain('subscribersReady')
    await redisCli(promoted, ['SPUBLISH', channel, 'after-failover'])
    await waitUntil('the message published after the failover', async () => received.length === 1)
    expect(received).toEqual([`${channel} after-failover`])
    channels.delete(victim)
    channels.set(promoted, channel)
  }, 60_000)

  it('after a slot moves to another master, ioredis re-subscribes the channel on the new owner by itself', async () => {
    received.length = 0
    events.length = 0
    const [[from, channel], [to]] = [...channels] as [[number, string], [number, string]]
    await cluster.moveSlot(await cluster.slotOf(channel), to)
    await waitUntil(`the subscription to ${channel} on ${to}`, async () => (await subscribersOn(to, channel, 'shard')) === 1, 20_000)
    // Redis drops the shard channels of a slot it gives away (an unsolicited SUNSUBSCRIBE).
    expect(await subscribersOn(from, channel, 'shard')).toBe(0)
    expect(events).toContain('subscribersReady')
    await redisCli(to, ['SPUBLISH', channel, 'after-move'])
    await waitUntil('the message published after the move', async () => received.length === 1)
    expect(received).toEqual([`${channel} after-move`])
  }, 60_000)

  it('a repeated SSUBSCRIBE resolves once the owner confirms it (a way to know the subscription is in place), and one SUNSUBSCRIBE ends it', async () => {
    received.length = 0
    const channel = [...channels.values()][0] as string
    const owner = await cluster.masterOf(channel)
    expect(await subscriber.ssubscribe(channel)).toBeGreaterThan(0)
    expect(await subscribersOn(owner, channel, 'shard')).toBe(1)
    await subscriber.sunsubscribe(channel)
    expect(await subscribersOn(owner, channel, 'shard')).toBe(0)
    await redisCli(owner, ['SPUBLISH', channel, 'after-unsubscribe'])
    await subscriber.ssubscribe(channel)
    await redisCli(owner, ['SPUBLISH', channel, 'subscribed-again'])
    await waitUntil('the message after subscribing again', async () => received.length === 1)
    expect(received).toEqual([`${channel} subscribed-again`])
  })

  it('SSUBSCRIBE to a slot that moved after ioredis read the slot map follows the MOVED reply to the new owner (createRedisConnections)', async () => {
    const [[from, known], [to]] = [...channels] as [[number, string], [number, string]]
    // A client of its own, whose slot map predates the move (no subscription in that slot tells
    // it). Built as the bus builds it: with ioredis' defaults the MOVED retries run on a stale
    // map and can fail with "Too many Cluster redirections" when the host is busy.
    const connections = createRedisConnections({ cluster: cluster.nodes })
    connections.command.on('error', () => {})
    const late = connections.subscriber as Cluster
    late.on('error', () => {})
    const lateReceived: string[] = []
    const lateEvents: string[] = []
    late.on('refresh', () => lateEvents.push('refresh'))
    late.on('smessage', (_: string, message: string) => lateReceived.push(message))
    try {
      await late.ssubscribe(known)
      let fresh = ''
      for (let index = 0; fresh === ''; index++) {
        const candidate = `jobcast:job:{late-${index}}`
        if ((await cluster.masterOf(candidate)) === from) fresh = candidate
      }
      const slot = await cluster.slotOf(fresh)
      await cluster.moveSlot(slot, to)
      // Still the old owner in ioredis' map: nothing has told this client about the move.
      expect(late.slots[slot]?.[0]).toBe(`127.0.0.1:${from}`)
      lateEvents.length = 0
      await late.ssubscribe(fresh)
      expect(lateEvents).toContain('refresh')
      expect(await subscribersOn(to, fresh, 'shard')).toBe(1)
      expect(await subscribersOn(from, fresh, 'shard')).toBe(0)
      await redisCli(to, ['SPUBLISH', fresh, 'late'])
      await waitUntil('the message on the moved slot', async () => lateReceived.length === 1)
      expect(lateReceived).toEqual(['late'])
    } finally {
      connections.close()
    }
  }, 60_000)
})
