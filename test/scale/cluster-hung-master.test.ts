/**
 * A cluster master that hangs (or is cut off) keeps its TCP connections open and sends no
 * MOVED, so a client sees no error while its replica is promoted. With ioredis' defaults the
 * sharded subscription stays on the hung master; the createRedisConnections subscriber refreshes
 * its slot map periodically and moves.
 */
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConnections, type RedisConnections } from '../../packages/gateway/src/bus/redis-connection.js'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { subscribersOn, waitUntil } from '../support/redis-topology.js'

describe('a hung cluster master', () => {
  let cluster: TestCluster
  let connections: RedisConnections
  let plain: Cluster
  // One slot (one hash tag), one channel per client, so the server counts each client apart.
  const channel = 'jobcast:job:{hung-master}'
  const plainChannel = 'jobcast:plain:{hung-master}'

  beforeAll(async () => {
    cluster = await startCluster()
    connections = createRedisConnections({ cluster: cluster.nodes })
    plain = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })), { shardedSubscribers: true })
    for (const client of [connections.command, connections.subscriber, plain]) client.on('error', () => {})
    await connections.subscriber.ssubscribe(channel)
    await plain.ssubscribe(plainChannel)
  }, 60_000)
  afterAll(async () => {
    connections?.close()
    plain?.disconnect()
    await cluster?.stop()
  })

  it('is left for the promoted replica by the createRedisConnections subscriber, not by a default ioredis Cluster', async () => {
    const hung = await cluster.masterOf(channel)
    try {
      const promoted = await cluster.hangMaster(hung)
      await waitUntil(`the subscription on ${promoted}`, async () => (await subscribersOn(promoted, channel, 'shard')) === 1, 10_000)
      // Nothing has told the default client: no error, no MOVED, no refresh.
      expect(await subscribersOn(promoted, plainChannel, 'shard')).toBe(0)
    } finally {
      cluster.resume(hung)
    }
  }, 60_000)
})
