/**
 * Redis replication is asynchronous: a write its master acknowledged can be missing on the
 * replica promoted after the master dies. For jobcast this means a job's snapshot can go back
 * to an older event after a failover, although that newer event was already published (and
 * delivered) — so a re-read snapshot must never move a watcher backwards. `WAIT` tells the
 * writer whether a replica has the write.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { redisCli } from '../support/redis-topology.js'

describe('a failover after an unreplicated write', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await startCluster()
  }, 60_000)
  afterAll(() => cluster?.stop())

  it('loses the write the master acknowledged, though its message was delivered; WAIT said so', async () => {
    const key = 'jobcast:job:{replication-loss}'
    const master = await cluster.masterOf(key)
    const [replica] = await cluster.replicasOf(master)
    expect(replica).toBeDefined()

    const subscriber = new Redis({ port: master, host: '127.0.0.1' })
    subscriber.on('error', () => {})
    const received: string[] = []
    subscriber.on('smessage', (_: string, message: string) => received.push(message))
    await subscriber.ssubscribe(key)

    // The replica stops reading the replication stream; the master still acknowledges writes.
    // The filler first fills the socket buffers between them, so the event after it stays in
    // the master's memory and dies with it (the buffers would reach the replica otherwise).
    const writer = new Redis({ port: master, host: '127.0.0.1' })
    writer.on('error', () => {})
    await writer.set(key, 'seq-1')
    // WAIT counts the replicas holding this connection's writes (a new connection has none to wait for).
    expect(await writer.wait(1, 5_000)).toBe(1)
    cluster.pause(replica as number)
    try {
      await writer.set('jobcast:filler:{replication-loss}', 'x'.repeat(32 * 1024 * 1024))
      const script = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('SPUBLISH', KEYS[1], ARGV[1])"
      expect(await writer.eval(script, 1, key, 'seq-2')).toBe(1)
      expect(await writer.wait(1, 300)).toBe(0)
      await expect.poll(() => received).toEqual(['seq-2'])
    } finally {
      writer.disconnect()
      subscriber.disconnect()
      const promoted = await cluster.killMaster(master, () => cluster.resume(replica as number))
      expect(promoted).toBe(replica)
    }
    expect(await redisCli(replica as number, ['GET', key])).toBe('seq-1')
  }, 60_000)
})
