/**
 * createRedisConnections against real servers of each topology, with an ACL user: the command
 * connection writes and publishes, the subscriber connection receives, and a wrong password is
 * refused (so the credentials really travel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConnections, type RedisConnections } from '../../packages/gateway/src/bus/redis-connection.js'
import type { RedisConnectionSettings } from '../../packages/gateway/src/bus/redis-settings.js'
import { startRedis, type TestRedis } from '../support/redis.js'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js'
import { redisCli, waitUntil } from '../support/redis-topology.js'

const USER = 'jobcast-app'
const PASSWORD = 'p@ss:w/rd 1'

/** Adds the ACL user on every data node (ACL changes are not replicated). */
async function addUser(ports: readonly number[]): Promise<void> {
  for (const port of ports) await redisCli(port, ['ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all'])
}

function open(settings: RedisConnectionSettings): RedisConnections {
  const connections = createRedisConnections(settings, { redisOptions: { maxRetriesPerRequest: 1 } })
  for (const client of [connections.command, connections.subscriber]) client.on('error', () => {})
  return connections
}

/** Round trip through both connections: SET/GET on one, a message from one to the other. */
async function roundTrip(connections: RedisConnections, sharded: boolean): Promise<void> {
  const channel = `jobcast:job:{connection-${sharded ? 'sharded' : 'classic'}}`
  await connections.command.set(channel, 'snapshot')
  expect(await connections.command.get(channel)).toBe('snapshot')
  const received: string[] = []
  const subscriber = connections.subscriber
  subscriber.on(sharded ? 'smessage' : 'message', (_: string, message: string) => received.push(message))
  await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel))
  const command = connections.command
  await (sharded ? command.spublish(channel, 'event') : command.publish(channel, 'event'))
  await waitUntil('the message', async () => received.length === 1, 5_000)
  expect(received).toEqual(['event'])
}

/**
 * What a wrong password leads to: the command's rejection, or the first connection error
 * reported (a Cluster keeps retrying and holds the command, so its error event is awaited).
 */
async function refused(settings: RedisConnectionSettings): Promise<string> {
  const connections = createRedisConnections({ ...settings, password: 'wrong' }, { redisOptions: { maxRetriesPerRequest: 1 } })
  const reported = new Promise<string>((resolve) => {
    const report = (error: Error & { lastNodeError?: Error }) => resolve(`${String(error)} ${String(error.lastNodeError ?? '')}`)
    connections.command.on('error', report)
    connections.command.on('node error', report)
  })
  connections.subscriber.on('error', () => {})
  try {
    return await Promise.race([connections.command.get('x').then(() => 'accepted', (error: unknown) => String(error)), reported])
  } finally {
    connections.close()
  }
}

describe('createRedisConnections on real servers', () => {
  let redis: TestRedis
  let cluster: TestCluster
  let group: TestSentinelGroup
  beforeAll(async () => {
    ;[redis, cluster, group] = await Promise.all([startRedis(), startCluster(), startSentinelGroup()])
    await addUser([redis.port, ...cluster.ports, ...group.dataPorts])
  }, 60_000)
  afterAll(() => Promise.all([redis?.stop(), cluster?.stop(), group?.stop()]))

  it('standalone, credentials in the URL or as options', async () => {
    for (const settings of [
      { url: `redis://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}` },
      { url: `redis://${USER}@127.0.0.1:${redis.port}`, password: PASSWORD },
      { url: `redis://127.0.0.1:${redis.port}`, username: USER, password: PASSWORD },
    ]) {
      const connections = open(settings)
      try {
        await roundTrip(connections, false)
      } finally {
        connections.close()
      }
    }
    expect(await refused({ url: `redis://127.0.0.1:${redis.port}`, username: USER })).toMatch(/WRONGPASS/)
  })

  it('cluster, sharded pub/sub through the slot owner', async () => {
    const settings = { cluster: cluster.nodes.slice(0, 2), username: USER, password: PASSWORD }
    const connections = open(settings)
    try {
      await roundTrip(connections, true)
    } finally {
      connections.close()
    }
    expect(await refused(settings)).toMatch(/WRONGPASS/)
  })

  it('sentinel, on the master the sentinels name', async () => {
    const settings = { sentinels: group.sentinels, sentinelName: group.name, username: USER, password: PASSWORD }
    const connections = open(settings)
    try {
      await roundTrip(connections, false)
      expect(await redisCli(await group.masterPort(), ['GET', 'jobcast:job:{connection-classic}'])).toBe('snapshot')
    } finally {
      connections.close()
    }
    expect(await refused(settings)).toMatch(/WRONGPASS/)
  })
})
