/**
 * What the multi-server test topologies (cluster, sentinel) share: `redis-cli` calls, polling
 * until the servers agree, and private data directories removed when the test process exits.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './redis.js'

const directories = new Set<string>()
process.once('exit', () => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true })
})

/** A fresh directory under the system temp dir, removed by {@link removeTempDir} or at exit. */
export function makeTempDir(label: string): string {
  const directory = mkdtempSync(join(tmpdir(), `jobcast-${label}-`))
  directories.add(directory)
  return directory
}

/** Removes a directory made by {@link makeTempDir}. */
export function removeTempDir(directory: string): void {
  rmSync(directory, { recursive: true, force: true })
  directories.delete(directory)
}

/** Throws a `[jobcast]` error saying how to install it when `redis-cli` is not on PATH. */
export function assertRedisCliInstalled(): void {
  if (spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error('[jobcast] no redis-cli on PATH: install it (apt-get install -y redis-tools)')
  }
}

/**
 * Runs `redis-cli -p <port> <args…>` and resolves with its output. A Redis error reply is
 * output too (`redis-cli` prints it); a refused connection rejects.
 * @param timeoutMs - the call is killed after this long, in ms
 */
export function redisCli(port: number, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`[jobcast] redis-cli -p ${port} ${args.join(' ')} failed: ${stderr || error.message}`))
      else resolve(stdout.trim())
    })
  })
}

/** Like {@link redisCli}, but a server that is down gives `undefined` instead of a rejection. */
export async function redisCliOrUndefined(port: number, args: readonly string[]): Promise<string | undefined> {
  try {
    const output = await redisCli(port, args, 2_000)
    return output.startsWith('Could not connect') ? undefined : output
  } catch {
    return undefined
  }
}

/**
 * Polls `check` until it returns a value other than `undefined` or `false`, and resolves with it.
 * @param what - what is awaited, for the timeout message
 * @param timeoutMs - give up after this long, in ms
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`[jobcast] timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** `count` different free ports on 127.0.0.1. */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/**
 * Subscribers of `channel` as the server on `port` counts them: of a shard channel
 * (`SSUBSCRIBE`, counted by the node serving its slot) or of a classic one (`SUBSCRIBE`).
 */
export async function subscribersOn(port: number, channel: string, kind: 'shard' | 'classic'): Promise<number> {
  const output = await redisCli(port, ['PUBSUB', kind === 'shard' ? 'SHARDNUMSUB' : 'NUMSUB', channel])
  return Number(output.split('\n')[1])
}
