/**
 * A private Sentinel group per test file: 1 master, 1 replica and 3 sentinels (quorum 2) on free
 * ports, with their own data directory, no persistence, killed when the test process exits.
 * Sentinels run as `redis-server <conf> --sentinel`, so no package beyond redis-server is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { assertRedisInstalled, killOnExit, stopChild, waitReady } from './redis.js'
import { assertRedisCliInstalled, distinctFreePorts, makeTempDir, redisCli, redisCliOrUndefined, removeTempDir, waitUntil } from './redis-topology.js'

/** Options of {@link startSentinelGroup}. */
export interface SentinelGroupOptions {
  /** Name the sentinels monitor the master under. @default 'jobcast' */
  name?: string
  /** `down-after-milliseconds`: how long a silent master has before the sentinels fail over, ms. @default 2000 */
  downAfterMs?: number
}

/** A running sentinel group. */
export interface TestSentinelGroup {
  /** The master name (`sentinelName` of a client). */
  readonly name: string
  /** The sentinels as `127.0.0.1:<port>`. */
  readonly sentinels: readonly string[]
  /** Ports of the two data nodes (master and replica, in start order). */
  readonly dataPorts: readonly number[]
  /** Port of the master, as every sentinel reports it (waits until they agree). */
  masterPort(): Promise<number>
  /**
   * SIGKILLs the current master and waits until every sentinel names the replica as master and
   * the replica says so too. Resolves with the new master's port.
   */
  killMaster(): Promise<number>
  /** Freezes the data node on `port` (SIGSTOP): its sockets stay open but it answers nothing, like a hung or cut-off server. */
  pause(port: number): void
  /** Lets a paused node run again (SIGCONT). */
  resume(port: number): void
  /** Waits until every sentinel names a master other than `port` and it acts as master; resolves with its port. */
  waitForNewMaster(port: number): Promise<number>
  /** Starts a killed data node again (empty) as a replica of the master, and waits until it is synced and the sentinels list it. */
  restart(port: number): Promise<void>
  /** Stops every process and removes the data directory. Safe to call twice. */
  stop(): Promise<void>
}

/** `redis-cli` prints a map reply as alternate field and value lines. */
function fieldsOf(output: string): Map<string, string> {
  const lines = output.split('\n')
  const fields = new Map<string, string>()
  for (let index = 0; index + 1 < lines.length; index += 2) fields.set(lines[index] as string, lines[index + 1] as string)
  return fields
}

/** Starts the group and waits until the sentinels know the replica and each other. */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<TestSentinelGroup> {
  assertRedisInstalled()
  assertRedisCliInstalled()
  const name = options.name ?? 'jobcast'
  const downAfterMs = options.downAfterMs ?? 2_000
  const directory = makeTempDir('sentinel')
  const [masterPort, replicaPort, ...sentinelPorts] = await distinctFreePorts(5) as [number, number, number, number, number]
  const dataPorts = [masterPort, replicaPort]
  const children = new Map<number, ChildProcess>()

  const spawnData = (port: number, replicaOf: number | undefined): ChildProcess =>
    killOnExit(
      spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--dir', directory,
          '--dbfilename', `dump-${port}.rdb`,
          '--logfile', join(directory, `${port}.log`),
          '--save', '',
          '--appendonly', 'no',
          // Replicas sync at once instead of waiting for more replicas to share the transfer.
          '--repl-diskless-sync-delay', '0',
          ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
        ],
        { stdio: 'ignore' },
      ),
    )
  const spawnSentinel = (port: number): ChildProcess => {
    // Sentinels rewrite their configuration file, so each has its own.
    const file = join(directory, `sentinel-${port}.conf`)
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${directory}`,
        `logfile ${join(directory, `sentinel-${port}.log`)}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        // A sentinel starts no new failover of a master within twice this: kept short so
        // tests can fail over again soon (a second kill, a manual SENTINEL FAILOVER).
        `sentinel failover-timeout ${name} ${downAfterMs * 2}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    return killOnExit(spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' }))
  }
  const kill = async (port: number): Promise<void> => {
    const child = children.get(port)
    if (child) await stopChild(child, 'SIGKILL')
  }
  const isSyncedReplica = async (port: number): Promise<boolean> => {
    const info = await redisCliOrUndefined(port, ['INFO', 'replication'])
    return info !== undefined && info.includes('role:slave') && info.includes('master_link_status:up')
  }
  const agreedMaster = async (): Promise<number | undefined> => {
    const answers = new Set<string>()
    for (const port of sentinelPorts) {
      const answer = await redisCliOrUndefined(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])
      if (answer === undefined) return undefined
      answers.add(answer.split('\n')[1] ?? '')
    }
    return answers.size === 1 ? Number([...answers][0]) : undefined
  }

  try {
    children.set(masterPort, spawnData(masterPort, undefined))
    children.set(replicaPort, spawnData(replicaPort, masterPort))
    await waitReady(masterPort, children.get(masterPort) as ChildProcess)
    await waitReady(replicaPort, children.get(replicaPort) as ChildProcess)
    await waitUntil('the replica to sync with the master', () => isSyncedReplica(replicaPort))
    for (const port of sentinelPorts) children.set(port, spawnSentinel(port))
    await Promise.all(sentinelPorts.map((port) => waitReady(port, children.get(port) as ChildProcess)))
    await waitUntil('every sentinel to know the replica and the other sentinels', async () => {
      for (const port of sentinelPorts) {
        const output = await redisCliOrUndefined(port, ['SENTINEL', 'MASTER', name])
        if (output === undefined) return false
        const fields = fieldsOf(output)
        if (fields.get('num-slaves') !== '1' || fields.get('num-other-sentinels') !== '2') return false
      }
      return true
    })
  } catch (error) {
    await Promise.all([...children.keys()].map(kill))
    removeTempDir(directory)
    throw error
  }

  const masterPortNow = (): Promise<number> => waitUntil('the sentinels to agree on a master', agreedMaster)
  const waitForNewMaster = async (old: number): Promise<number> => {
    const promoted = await waitUntil(
      `the sentinels to promote a replica of ${old}`,
      async () => {
        const agreed = await agreedMaster()
        return agreed !== undefined && agreed !== old ? agreed : undefined
      },
      downAfterMs * 10,
    )
    await waitUntil(`${promoted} to act as master`, async () => (await redisCliOrUndefined(promoted, ['ROLE']))?.split('\n')[0] === 'master')
    return promoted
  }
  let stopped: Promise<void> | undefined
  return {
    name,
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
    dataPorts,
    masterPort: masterPortNow,
    async killMaster() {
      const old = await masterPortNow()
      await kill(old)
      return waitForNewMaster(old)
    },
    pause: (port) => children.get(port)?.kill('SIGSTOP'),
    resume: (port) => children.get(port)?.kill('SIGCONT'),
    waitForNewMaster,
    async restart(port) {
      const old = children.get(port)
      if (old && old.exitCode === null && old.signalCode === null) throw new Error(`[jobcast] node ${port} is running: kill it first`)
      // Started as a replica of the current master: the sentinels would demote a returning old
      // master too, but only after their next INFO round (about 10 s), which the tests need not wait for.
      const child = spawnData(port, await masterPortNow())
      children.set(port, child)
      await waitReady(port, child)
      await waitUntil(`${port} to sync as a replica`, () => isSyncedReplica(port))
      await waitUntil(`every sentinel to list ${port} as a replica that is up`, async () => {
        for (const sentinelPort of sentinelPorts) {
          const output = await redisCliOrUndefined(sentinelPort, ['SENTINEL', 'REPLICAS', name])
          // One map per replica; the flags of ours must not say down.
          const entries = output?.split(/\n(?=name\n)/) ?? []
          const ours = entries.map(fieldsOf).find((fields) => fields.get('port') === String(port))
          if (!ours || /down/.test(ours.get('flags') ?? 'down')) return false
        }
        return true
      })
    },
    stop() {
      stopped ??= Promise.all([...children.keys()].map(kill)).then(() => removeTempDir(directory))
      return stopped
    },
  }
}

/** Reads the role (`master` or `slave`) of the data node on `port`. */
export async function roleOf(port: number): Promise<string> {
  return (await redisCli(port, ['ROLE'])).split('\n')[0] ?? ''
}
