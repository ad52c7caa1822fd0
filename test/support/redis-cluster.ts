/**
 * A private Redis Cluster per test file: 3 masters and 3 replicas on free ports, each node with
 * its own data directory, no persistence, killed when the test process exits. Helpers kill a
 * master and wait for its replica to take over, restart a node, and move a slot.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { assertRedisInstalled, killOnExit, stopChild, waitReady } from './redis.js'
import { assertRedisCliInstalled, distinctFreePorts, makeTempDir, redisCli, redisCliOrUndefined, removeTempDir, waitUntil } from './redis-topology.js'

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** `cluster-node-timeout`: how long a silent master has before its replica takes over, ms. @default 2000 */
  nodeTimeoutMs?: number
}

/** One line of `CLUSTER NODES`, as one node sees another. */
export interface ClusterNodeView {
  readonly id: string
  readonly port: number
  readonly flags: readonly string[]
  /** Id of the master this node replicates, `undefined` for a master. */
  readonly masterId: string | undefined
  readonly connected: boolean
  /** Slot ranges served, inclusive. */
  readonly slots: readonly (readonly [number, number])[]
}

/** A running test cluster. */
export interface TestCluster {
  /** Every node as `127.0.0.1:<port>`, the startup nodes a client is given. */
  readonly nodes: readonly string[]
  /** Client ports of every node. */
  readonly ports: readonly number[]
  /** Ports of the masters serving slots, as a live node sees them now. */
  masterPorts(): Promise<number[]>
  /** Port of the master serving the slot of `key` (a key or shard channel). */
  masterOf(key: string): Promise<number>
  /** Slot of `key` (a key or shard channel). */
  slotOf(key: string): Promise<number>
  /** Id of the node on `port`. */
  nodeId(port: number): Promise<string>
  /**
   * SIGKILLs the master on `port` and waits until one of its replicas is promoted and every
   * live node reports `cluster_state:ok`. Resolves with the promoted replica's port.
   * @param afterKill - run right after the kill, before waiting (e.g. to resume a paused replica)
   */
  killMaster(port: number, afterKill?: () => void): Promise<number>
  /** Ports of the replicas of the master on `port`. */
  replicasOf(port: number): Promise<number[]>
  /**
   * Freezes the master on `port` (SIGSTOP: its sockets stay open, it answers nothing, like a
   * hung or cut-off server) and waits until one of its replicas is promoted. Resolves with the
   * promoted replica's port; {@link TestCluster.resume} lets the old master run again.
   */
  hangMaster(port: number): Promise<number>
  /** SIGKILLs the node on `port` without waiting for anything. */
  kill(port: number): Promise<void>
  /** Freezes the node on `port` (SIGSTOP): it neither answers nor replicates until {@link TestCluster.resume}. */
  pause(port: number): void
  /** Lets a paused node run again (SIGCONT). */
  resume(port: number): void
  /** Starts a killed node again (same node id, empty data) and waits until the cluster sees it and is ok. */
  restart(port: number): Promise<void>
  /**
   * Moves `slot` (and its keys) to the master on `toPort` with `CLUSTER SETSLOT`, as a
   * resharding does, and waits until every live node sees the new owner.
   */
  moveSlot(slot: number, toPort: number): Promise<void>
  /** Stops every node and removes the data directory. Safe to call twice. */
  stop(): Promise<void>
}

const NODE_COUNT = 6

/** Parses `CLUSTER NODES` output. */
export function parseClusterNodes(output: string): ClusterNodeView[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , link = '', ...slotFields] = line.trim().split(' ')
      const slots: [number, number][] = []
      // Slots being imported or migrated show as `[slot-<-id]`: not served yet, so skipped.
      for (const field of slotFields) {
        if (field.startsWith('[')) continue
        const [start, end = start] = field.split('-')
        slots.push([Number(start), Number(end)])
      }
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        connected: link === 'connected',
        slots,
      }
    })
}

function servesSlot(node: ClusterNodeView, slot: number): boolean {
  return node.slots.some(([start, end]) => slot >= start && slot <= end)
}

function isUsable(node: ClusterNodeView): boolean {
  return node.connected && !node.flags.some((flag) => flag === 'fail' || flag === 'fail?' || flag === 'handshake' || flag === 'noaddr')
}

/** Starts 6 nodes, joins them as 3 masters with one replica each, and waits until all agree. */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  assertRedisInstalled()
  assertRedisCliInstalled()
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000
  const directory = makeTempDir('cluster')
  // Two ports per node: the client port and the cluster bus port (`cluster-port`), because the
  // default bus port (client port + 10000) can fall outside the port range.
  const allPorts = await distinctFreePorts(NODE_COUNT * 2)
  const ports = allPorts.slice(0, NODE_COUNT)
  const busPorts = new Map(ports.map((port, index) => [port, allPorts[NODE_COUNT + index] as number]))
  const children = new Map<number, ChildProcess>()

  const spawnNode = (port: number): ChildProcess =>
    killOnExit(
      spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-port', String(busPorts.get(port)),
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', String(nodeTimeoutMs),
          // A replica may always take over, however long its link was down: the tests kill on purpose.
          '--cluster-replica-validity-factor', '0',
          // Replicas sync at once instead of waiting for more replicas to share the transfer.
          '--repl-diskless-sync-delay', '0',
          '--dir', directory,
          '--logfile', join(directory, `${port}.log`),
          '--save', '',
          '--appendonly', 'no',
        ],
        { stdio: 'ignore' },
      ),
    )

  const viewOf = async (port: number): Promise<ClusterNodeView[] | undefined> => {
    const output = await redisCliOrUndefined(port, ['CLUSTER', 'NODES'])
    return output === undefined ? undefined : parseClusterNodes(output)
  }
  const paused = new Set<number>()
  const livePorts = (): number[] => ports.filter((port) => {
    if (paused.has(port)) return false
    const child = children.get(port)
    return child !== undefined && child.exitCode === null && child.signalCode === null
  })
  /** Every live node is ok and sees every live node as usable: 3 slot-serving masters, the others their replicas. */
  const settled = async (): Promise<boolean> => {
    const live = livePorts()
    for (const port of live) {
      const info = await redisCliOrUndefined(port, ['CLUSTER', 'INFO'])
      if (!info?.includes('cluster_state:ok')) return false
      const view = await viewOf(port)
      if (!view) return false
      for (const livePort of live) {
        const node = view.find((entry) => entry.port === livePort)
        if (!node || !isUsable(node)) return false
      }
      const masters = view.filter((node) => node.flags.includes('master') && node.slots.length > 0 && isUsable(node))
      if (masters.length !== 3) return false
      // Every live node that is not one of the masters must be attached as a replica of one.
      const replicas = view.filter((node) => node.flags.includes('slave') && isUsable(node) && masters.some((master) => master.id === node.masterId))
      if (replicas.length !== live.length - 3) return false
      // A replica still in its first sync has no data to take over with.
      if (replicas.some((node) => node.flags.includes('myself'))) {
        const info = await redisCliOrUndefined(port, ['INFO', 'replication'])
        if (!info?.includes('master_link_status:up')) return false
      }
    }
    return true
  }
  const anyView = async (): Promise<ClusterNodeView[]> =>
    waitUntil('a live cluster node to answer CLUSTER NODES', async () => {
      for (const port of livePorts()) {
        const view = await viewOf(port)
        if (view) return view
      }
      return undefined
    })
  const ownerOf = async (slot: number): Promise<ClusterNodeView> => {
    const owner = (await anyView()).find((node) => node.flags.includes('master') && isUsable(node) && servesSlot(node, slot))
    if (!owner) throw new Error(`[jobcast] no live master serves slot ${slot}: is the cluster failing over?`)
    return owner
  }
  const slotOf = async (key: string): Promise<number> => Number(await redisCli(livePorts()[0] as number, ['CLUSTER', 'KEYSLOT', key]))
  const masterPorts = async (): Promise<number[]> =>
    (await anyView()).filter((node) => node.flags.includes('master') && node.slots.length > 0 && isUsable(node)).map((node) => node.port)
  /** Stops the master on `port` with `stop` and waits until a replica of it took over and the cluster is ok. */
  const failOver = async (port: number, stop: () => Promise<void> | void): Promise<number> => {
    const view = await viewOf(port)
    const me = view?.find((node) => node.flags.includes('myself'))
    if (!me?.flags.includes('master')) throw new Error(`[jobcast] node ${port} is not a live master: pick one from masterPorts()`)
    const replicaPorts = (view ?? []).filter((node) => node.masterId === me.id).map((node) => node.port)
    if (replicaPorts.length === 0) throw new Error(`[jobcast] master ${port} has no replica to promote: restart() a killed node first`)
    await stop()
    const promoted = await waitUntil(
      `a replica of ${port} to be promoted`,
      async () => {
        for (const replicaPort of replicaPorts) {
          const replicaView = await viewOf(replicaPort)
          const self = replicaView?.find((node) => node.flags.includes('myself'))
          if (self?.flags.includes('master') && self.slots.length > 0) return replicaPort
        }
        return undefined
      },
      nodeTimeoutMs * 10,
    )
    // The stopped master is still listed (flagged fail) until it comes back, so `settled` skips it.
    await waitUntil(`the cluster to be ok after ${promoted} took over from ${port}`, settled)
    return promoted
  }
  const pause = (port: number): void => {
    paused.add(port)
    children.get(port)?.kill('SIGSTOP')
  }
  const kill = async (port: number): Promise<void> => {
    const child = children.get(port)
    if (child) await stopChild(child, 'SIGKILL')
  }

  try {
    for (const port of ports) children.set(port, spawnNode(port))
    await Promise.all(ports.map((port) => waitReady(port, children.get(port) as ChildProcess)))
    const created = await new Promise<string>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'])
      let output = ''
      create.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      create.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      create.once('error', reject)
      create.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`[jobcast] redis-cli --cluster create exited with ${code}:\n${output}`))))
    })
    if (!created.includes('All 16384 slots covered')) throw new Error(`[jobcast] redis-cli --cluster create did not cover every slot:\n${created}`)
    await waitUntil('the new cluster to be ok on every node', settled)
  } catch (error) {
    await Promise.all(ports.map(kill))
    removeTempDir(directory)
    throw error
  }

  let stopped: Promise<void> | undefined
  return {
    nodes: ports.map((port) => `127.0.0.1:${port}`),
    ports,
    masterPorts,
    masterOf: async (key) => (await ownerOf(await slotOf(key))).port,
    slotOf,
    nodeId: (port) => redisCli(port, ['CLUSTER', 'MYID']),
    async replicasOf(port) {
      const master = (await anyView()).find((node) => node.port === port)
      return (await anyView()).filter((node) => master !== undefined && node.masterId === master.id).map((node) => node.port)
    },
    async killMaster(port, afterKill) {
      return failOver(port, async () => {
        await kill(port)
        afterKill?.()
      })
    },
    hangMaster: (port) => failOver(port, () => pause(port)),
    kill,
    pause,
    resume(port) {
      children.get(port)?.kill('SIGCONT')
      paused.delete(port)
    },
    async restart(port) {
      const old = children.get(port)
      if (old && old.exitCode === null && old.signalCode === null) throw new Error(`[jobcast] node ${port} is running: kill() it first`)
      const child = spawnNode(port)
      children.set(port, child)
      await waitReady(port, child)
      await waitUntil(`restarted node ${port} to rejoin the cluster`, settled, nodeTimeoutMs * 10)
    },
    async moveSlot(slot, toPort) {
      const source = await ownerOf(slot)
      if (source.port === toPort) return
      const sourceId = source.id
      const targetId = await redisCli(toPort, ['CLUSTER', 'MYID'])
      await redisCli(toPort, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId])
      await redisCli(source.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId])
      for (;;) {
        const keys = (await redisCli(source.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])).split('\n').filter((key) => key !== '')
        if (keys.length === 0) break
        await redisCli(source.port, ['MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys])
      }
      // The owner is told first, then the old owner, then everyone else (as redis-cli --cluster reshard does).
      const masters = await masterPorts()
      for (const port of [toPort, source.port, ...masters.filter((port) => port !== toPort && port !== source.port)]) {
        await redisCli(port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId])
      }
      await waitUntil(`every node to see slot ${slot} on ${toPort}`, async () => {
        for (const port of livePorts()) {
          const view = await viewOf(port)
          const owner = view?.find((node) => node.flags.includes('master') && servesSlot(node, slot))
          if (owner?.port !== toPort) return false
        }
        return true
      })
    },
    stop() {
      stopped ??= Promise.all(ports.map(async (port) => {
        const child = children.get(port)
        if (child) await stopChild(child, 'SIGKILL')
      })).then(() => removeTempDir(directory))
      return stopped
    },
  }
}
