/**
 * The delivery promise across a Redis failover (issue 12): a master is killed (or hangs) mid-job;
 * once its replica is promoted, the terminal event published after it reaches WebSocket, SSE and
 * polling clients of a gateway on a Redis Cluster and on a sentinel group; on the cluster a slot
 * move too. And a snapshot re-read that is
 * older than what a client already has never moves the client back.
 */
import { createPublisher, type Publisher } from '@jobcast/gateway'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jobKey } from '../../packages/gateway/src/bus/keys.js'
import { createRedisBus } from '../../packages/gateway/src/bus/redis-bus.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js'
import { redisCli, subscribersOn, waitUntil } from '../support/redis-topology.js'
import { DRIVERS, type Watcher } from '../support/transports.js'
import { pythonInterpreter, run } from '../support/producers.js'

const WATCHED_BY = ['websocket', 'sse', 'polling'] as const

/** A Python worker publishing through redis-py's own client for the topology in `TARGET` (JSON). */
const PYTHON_PRODUCER = `import json, os, sys
sys.path.insert(0, 'producers/python')
from jobcast import Publisher
target = json.loads(os.environ['TARGET'])
address = lambda entry: (entry.rsplit(':', 1)[0], int(entry.rsplit(':', 1)[1]))
if 'cluster' in target:
    from redis.cluster import ClusterNode, RedisCluster
    client = RedisCluster(startup_nodes=[ClusterNode(*address(entry)) for entry in target['cluster']])
else:
    from redis.sentinel import Sentinel
    client = Sentinel([address(entry) for entry in target['sentinels']]).master_for(target['sentinelName'])
jobs = Publisher(client, os.environ['PREFIX'])
jobs.progress(sys.argv[1], 50)
jobs.complete(sys.argv[1], {'lang': 'python'})`

/** One topology under test: where it is, and how to fail its master over for a job. */
interface Topology {
  readonly target: { cluster: readonly string[] } | { sentinels: readonly string[]; sentinelName: string }
  /** Kills the master serving job `key` and resolves with the promoted replica's port once it took over. */
  failOver(key: string): Promise<number>
  /**
   * Freezes the master serving job `key` (SIGSTOP: its sockets stay open and it sends nothing, like
   * a hung or cut-off server; a node killed before is restarted first, as its replica) and
   * resolves with the promoted replica's port once it took over.
   */
  hang(key: string): Promise<number>
  /** Lets a node frozen by {@link Topology.hang} run again. */
  resume(): void
  /** On a cluster: moves the slot of `key` to another master and resolves with its port. */
  moveSlot?(key: string): Promise<number>
  stop(): Promise<void>
}

async function clusterTopology(): Promise<Topology> {
  const cluster: TestCluster = await startCluster()
  let killed: number | undefined
  let hung: number | undefined
  return {
    target: { cluster: cluster.nodes },
    async failOver(key) {
      killed = await cluster.masterOf(key)
      return cluster.killMaster(killed)
    },
    async hang(key) {
      if (killed !== undefined) await cluster.restart(killed)
      killed = undefined
      hung = await cluster.masterOf(key)
      return cluster.hangMaster(hung)
    },
    resume: () => hung !== undefined && cluster.resume(hung),
    async moveSlot(key) {
      const from = await cluster.masterOf(key)
      const to = (await cluster.masterPorts()).find((port) => port !== from) as number
      await cluster.moveSlot(await cluster.slotOf(key), to)
      return to
    },
    stop: () => cluster.stop(),
  }
}

async function sentinelTopology(): Promise<Topology> {
  const group: TestSentinelGroup = await startSentinelGroup()
  let killed: number | undefined
  let hung: number | undefined
  return {
    target: { sentinels: group.sentinels, sentinelName: group.name },
    async failOver() {
      killed = await group.masterPort()
      return group.killMaster()
    },
    async hang() {
      if (killed !== undefined) await group.restart(killed)
      killed = undefined
      hung = await group.masterPort()
      group.pause(hung)
      return group.waitForNewMaster(hung)
    },
    resume: () => hung !== undefined && group.resume(hung),
    stop: () => group.stop(),
  }
}

describe.each([
  ['cluster', clusterTopology],
  ['sentinel', sentinelTopology],
] as const)('gateway on a Redis %s, master killed mid-job', (name, start) => {
  let topology: Topology
  let gateway: TestGateway | undefined
  let publisher: Publisher | undefined
  const watchers: Watcher[] = []
  beforeAll(async () => {
    topology = await start()
  }, 60_000)
  afterAll(() => topology?.stop())
  afterEach(async () => {
    for (const watcher of watchers.splice(0)) watcher.close()
    await publisher?.close()
    await gateway?.close()
  })

  /**
   * A job watched over every transport at progress 10; `change` alters the topology under it
   * and resolves with the port that serves the job afterwards. Checks the bus went down and
   * came back up (re-subscribed there and confirmed, not just reconnected), then that the
   * terminal event published after it reaches every client, in order, once.
   */
  async function watchAcross(id: string, change: (key: string) => Promise<number>): Promise<void> {
    const prefix = randomPrefix()
    gateway = await startGateway({ bus: { ...topology.target, prefix } })
    publisher = createPublisher({ ...topology.target, prefix })
    await publisher.active(id, { progress: 10 })
    for (const transport of WATCHED_BY) watchers.push(await DRIVERS[transport](gateway, id))
    for (const watcher of watchers) await watcher.events.until(() => watcher.events.items.at(-1)?.progress === 10 || undefined)
    const states: string[] = []
    gateway.gateway.bus.onStateChange((state) => states.push(state))

    const serving = await change(jobKey(prefix, id))
    await waitUntil('the bus to be up again', async () => gateway?.gateway.bus.state === 'up' && states.includes('up'), 30_000)
    expect(await subscribersOn(serving, jobKey(prefix, id), 'shard')).toBe(1)
    const terminal = await publisher.complete(id, { rows: 3 })
    if (!terminal.published) throw new Error('not published')

    await Promise.all(watchers.map((watcher) => watcher.finished))
    for (const watcher of watchers) {
      const seqs = watcher.events.items.map((event) => event.seq)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(watcher.events.items.at(-1)).toMatchObject({ status: 'completed', seq: terminal.event.seq })
    }
  }

  it('delivers the terminal event published after the promotion to WebSocket, SSE and polling clients', async () => {
    await watchAcross('failover-1', (key) => topology.failOver(key))
  }, 90_000)

  // Slots exist only on a cluster: the case is not defined for sentinel (rather than skipped).
  if (name === 'cluster') {
    it('re-subscribes a watched job whose slot moved to another master, and delivers its terminal event', async () => {
      const moveSlot = topology.moveSlot
      if (!moveSlot) throw new Error('[jobcast] the cluster topology has no moveSlot')
      // The old owner drops the channel with the slot: the bus goes down until it is re-subscribed.
      await watchAcross('moved-1', moveSlot)
    }, 60_000)
  }

  it('leaves a hung master (sockets open, no reply) for the promoted replica, and delivers the terminal event published after it', async () => {
    try {
      await watchAcross('hung-1', (key) => topology.hang(key))
    } finally {
      topology.resume()
    }
  }, 90_000)

  it('a Python producer publishes through redis-py (RedisCluster, Sentinel.master_for) to WebSocket, SSE and polling clients', async () => {
    const prefix = randomPrefix()
    const id = 'python-1'
    gateway = await startGateway({ bus: { ...topology.target, prefix } })
    for (const transport of WATCHED_BY) watchers.push(await DRIVERS[transport](gateway, id))
    const result = await run(pythonInterpreter(), ['-c', PYTHON_PRODUCER, id], { redisUrl: '', env: { TARGET: JSON.stringify(topology.target), PREFIX: prefix } })
    expect(result.status, result.stderr).toBe(0)
    await Promise.all(watchers.map((watcher) => watcher.finished))
    for (const watcher of watchers) expect(watcher.events.items.at(-1)).toMatchObject({ status: 'completed', progress: 100 })
  }, 30_000)

  it('refused credentials fail a command with a clear error within the command timeout, and the retries are logged rate-limited without the password', async () => {
    const password = 'hunter2-never-shown'
    const lines: string[] = []
    const bus = createRedisBus({ connection: { ...topology.target, username: 'jobcast-nobody', password }, commandTimeoutMs: 1_000, log: (line) => lines.push(line) })
    try {
      const started = Date.now()
      await expect(bus.get('any')).rejects.toMatchObject({ code: 'bus_unavailable', message: expect.stringMatching(/^\[jobcast\] Redis \(.+\) refused the credentials \(.*WRONGPASS.*\) \(job any\): check the Redis user name and password$/) })
      expect(Date.now() - started).toBeLessThan(3_000)
      // ioredis retries many times a second; the log keeps the first line of the interval.
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^\[jobcast\] Redis (command|subscriber) connection to .+ \(user jobcast-nobody, password \*\*\*\): .+; retrying$/)
      expect(lines.join('\n')).not.toContain(password)
    } finally {
      await bus.close()
    }
  }, 30_000)
})

describe('a snapshot re-read older than what was delivered (a failover lost an acknowledged write)', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(() => redis?.stop())

  it('never moves a client back: the gateway keeps its newer event, restores it, and the job goes on', async () => {
    const prefix = randomPrefix()
    const id = 'older-1'
    const key = jobKey(prefix, id)
    const gateway = await startGateway({ bus: { redisUrl: redis.url, prefix } })
    const publisher = createPublisher({ url: redis.url, prefix })
    const raw = new Redis(redis.url)
    const watchers: Watcher[] = []
    try {
      const older = await publisher.active(id, { progress: 10 })
      for (const transport of WATCHED_BY) watchers.push(await DRIVERS[transport](gateway, id))
      const newer = await publisher.progress(id, 50)
      if (!older.published || !newer.published) throw new Error('not published')
      for (const watcher of watchers) await watcher.events.until(() => watcher.events.items.at(-1)?.progress === 50 || undefined)
      // What a promoted replica that missed the last write holds: the older event.
      await raw.set(key, JSON.stringify(older.event))
      const states: string[] = []
      gateway.gateway.bus.onStateChange((state) => states.push(state))
      // Cut the gateway's subscriber connection: down, then up, then the hub re-reads the snapshot.
      await redisCli(redis.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      await waitUntil('the bus to go down and up', async () => states.includes('down') && gateway.gateway.bus.state === 'up')
      // The hub puts its newer event back over the older snapshot.
      await waitUntil('the newer event to be restored', async () => (await raw.get(key)) === JSON.stringify(newer.event))
      const terminal = await publisher.complete(id)
      if (!terminal.published) throw new Error('not published')
      await Promise.all(watchers.map((watcher) => watcher.finished))
      for (const watcher of watchers) {
        const seqs = watcher.events.items.map((event) => event.seq)
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
        expect(seqs).not.toContain(undefined)
        // Never the older event again after the newer one.
        expect(seqs.slice(seqs.indexOf(newer.event.seq))).toEqual([newer.event.seq, terminal.event.seq])
      }
    } finally {
      for (const watcher of watchers) watcher.close()
      raw.disconnect()
      await publisher.close()
      await gateway.close()
    }
  }, 30_000)
})
