/**
 * A master that hangs (or is cut off from the sentinels) keeps its TCP connections open, so a
 * client sees no error while the sentinels promote its replica. ioredis leaves such a master
 * only with `failoverDetector` (it listens for `+switch-master` on the sentinels), which
 * createRedisConnections turns on.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConnections, type RedisConnections } from '../../packages/gateway/src/bus/redis-connection.js'
import { startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js'
import { subscribersOn, waitUntil } from '../support/redis-topology.js'

describe('a hung Sentinel master', () => {
  let group: TestSentinelGroup
  let connections: RedisConnections
  let plain: Redis
  const channel = 'jobcast:job:{hung-master}'

  beforeAll(async () => {
    group = await startSentinelGroup()
    connections = createRedisConnections({ sentinels: group.sentinels, sentinelName: group.name })
    const sentinels = group.sentinels.map((address) => ({ host: '127.0.0.1', port: Number(address.split(':')[1]) }))
    plain = new Redis({ sentinels, name: group.name })
    for (const client of [connections.command, connections.subscriber, plain]) client.on('error', () => {})
    await connections.subscriber.subscribe(channel)
    await plain.subscribe(`${channel}:plain`)
  }, 60_000)
  afterAll(async () => {
    connections?.close()
    plain?.disconnect()
    await group?.stop()
  })

  it('is left for the promoted replica by the createRedisConnections subscriber, not by a default ioredis client', async () => {
    const hung = await group.masterPort()
    group.pause(hung)
    try {
      const promoted = await group.waitForNewMaster(hung)
      await waitUntil(`the subscription on ${promoted}`, async () => (await subscribersOn(promoted, channel, 'classic')) === 1, 10_000)
      expect(await connections.command.publish(channel, 'after-switch')).toBe(1)
      // The default client is still attached to the hung master: nothing has told it.
      expect(await subscribersOn(promoted, `${channel}:plain`, 'classic')).toBe(0)
    } finally {
      group.resume(hung)
    }
  }, 60_000)
})
