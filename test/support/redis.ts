/**
 * A private `redis-server` per test file: own child process on a free port, no persistence,
 * so a restart loses every key exactly like a production failover without persistence.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createConnection, createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM). Safe to call twice. */
  stop(): Promise<void>
  /** Kills the server (SIGKILL) and starts a fresh, empty one on the same port. */
  restart(): Promise<void>
  /** Kills the server (SIGKILL) without restarting it. */
  kill(): Promise<void>
}

const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

/** Kills `child` when the test process exits, even after a failed test that skipped its clean-up. */
export function killOnExit(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Whether a server on `port` answers PING with PONG. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function spawnServer(port: number): ChildProcess {
  return killOnExit(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    }),
  )
}

/** Waits until the server `child` started on `port` answers PING; fails if it exits first. */
export async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`[jobcast] redis-server on port ${port} exited with code ${child.exitCode}`)
    if (await ping(port)) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`[jobcast] redis-server on port ${port} did not answer PING within 10 s`)
}

/** Sends `signal` to `child` and resolves once it has exited (at once if it already has). */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

/** Throws a `[jobcast]` error saying how to install Redis when `redis-server` is not on PATH. */
export function assertRedisInstalled(): void {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error('[jobcast] no redis-server on PATH: install it (apt-get install -y redis-server)')
  }
}

/** Starts a private redis-server on a free port and waits until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  assertRedisInstalled()
  const port = await freePort()
  let child = spawnServer(port)
  await waitReady(port, child)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
    async restart() {
      await stopChild(child, 'SIGKILL')
      child = spawnServer(port)
      await waitReady(port, child)
    },
  }
}

/** A fresh key prefix, so tests sharing one Redis never see each other's jobs. */
export function randomPrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`
}

/** A test Redis with a plain connection to it. */
export interface TestRedisWithClient extends TestRedis {
  /**
   * A plain ioredis connection, for reading keys behind the code under test. It rides out kills
   * and restarts: commands wait for the server instead of failing. `stop()` disconnects it.
   */
  readonly raw: Redis
}

/** {@link startRedis}, plus a plain connection to it. */
export async function startRedisWithClient(): Promise<TestRedisWithClient> {
  const redis = await startRedis()
  const raw = new Redis(redis.url, { maxRetriesPerRequest: null })
  raw.on('error', () => {})
  return {
    ...redis,
    raw,
    async stop() {
      raw.disconnect()
      await redis.stop()
    },
  }
}
