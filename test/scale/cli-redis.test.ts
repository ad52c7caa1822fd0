/**
 * The built `jobcast-gateway` and its Redis options: a password reaches Redis but never its
 * output or `--help`; conflicting or malformed Redis options stop it with one line.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type TestRedis } from '../support/redis.js'
import { redisCli } from '../support/redis-topology.js'

const cli = fileURLToPath(new URL('../../packages/gateway/dist/cli.js', import.meta.url))
const PASSWORD = 'hunter2-never-shown'

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('JOBCAST_'))), ...extra }
}

/** Runs the CLI to its exit (for errors and --help). */
function runToExit(args: readonly string[], env: Record<string, string> = {}): { status: number | null; output: string } {
  expect(existsSync(cli), '[jobcast] packages/gateway/dist/cli.js is missing: run npm run build (npm test does)').toBe(true)
  const result = spawnSync(process.execPath, [cli, '--port', '0', '--insecure-open', ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: 10_000 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe('jobcast-gateway Redis options', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
    await redisCli(redis.port, ['ACL', 'SETUSER', 'gateway', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'])
  })
  afterAll(() => redis?.stop())

  it('connects with the password in the URL and logs the Redis without it', async () => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--insecure-open', '--redis-url', `redis://gateway:${PASSWORD}@127.0.0.1:${redis.port}`], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`[jobcast] no bus line within 10 s:\n${output}`)), 10_000)
        const collect = (chunk: Buffer): void => {
          output += chunk.toString()
          if (/\[jobcast\] bus: .*\n/.test(output)) {
            clearTimeout(timer)
            resolve()
          }
        }
        child.stdout.on('data', collect)
        child.stderr.on('data', collect)
      })
      // The gateway's connections are there, authenticated as the ACL user.
      await expect.poll(async () => (await redisCli(redis.port, ['CLIENT', 'LIST'])).includes('user=gateway')).toBe(true)
    } finally {
      child.kill('SIGKILL')
    }
    expect(output).toContain(`[jobcast] bus: redis (redis://gateway:***@127.0.0.1:${redis.port}, prefix jobcast:)`)
    expect(output).not.toContain(PASSWORD)
  })

  it('never prints the password in --help, even when it is set', () => {
    const { status, output } = runToExit(['--help'], { JOBCAST_REDIS_PASSWORD: PASSWORD })
    expect(status).toBe(0)
    expect(output).toMatch(/--redis-cluster <h:p,…> +Redis Cluster nodes/)
    expect(output).toMatch(/--redis-sentinels <h:p,…> +Redis Sentinels/)
    expect(output).toMatch(/--sentinel-name <name> +master name/)
    expect(output).not.toContain(PASSWORD)
  })

  it.each([
    [['--redis-url', 'redis://127.0.0.1:1', '--redis-cluster', '127.0.0.1:2'], /^\[jobcast\] --redis-url and --redis-cluster both name a Redis: give only one of --redis-url, --redis-cluster or --redis-sentinels\n$/],
    [['--redis-sentinels', '127.0.0.1:2'], /^\[jobcast\] --redis-sentinels needs --sentinel-name: /],
    [['--redis-cluster', '127.0.0.1'], /^\[jobcast\] --redis-cluster takes host:port entries \(e\.g\. 10\.0\.0\.5:6379 or \[::1\]:6379\), got "127\.0\.0\.1"\n$/],
  ])('%j stops with exit code 2 and one line', (args, message) => {
    const { status, output } = runToExit(args, { JOBCAST_REDIS_PASSWORD: PASSWORD })
    expect(status).toBe(2)
    expect(output).toMatch(message)
    expect(output).not.toContain(PASSWORD)
  })
})
