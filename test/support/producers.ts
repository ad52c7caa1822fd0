/**
 * Runs the PHP and Python producers from Node tests: finds interpreters that have the Debian
 * packages they need (php-cli + php-redis, python3 + python3-redis + python3-jwt + pytest) and
 * runs commands with the suite's Redis in JOBCAST_REDIS_URL.
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The languages with a producer library besides Node. */
export type ProducerLanguage = 'php' | 'python'

const INSTALL = 'apt-get install -y php-cli php-redis phpunit python3-redis python3-pytest python3-jwt (.ci/run does)'

let python: string | undefined

/** A python3 that imports redis, jwt and pytest: Debian's first, as another on PATH may lack Debian's packages. */
export function pythonInterpreter(): string {
  python ??= ['/usr/bin/python3', 'python3'].find((candidate) => spawnSync(candidate, ['-c', 'import redis, jwt, pytest']).status === 0)
  if (python === undefined) throw new Error(`[jobcast] no python3 with redis-py, PyJWT and pytest: ${INSTALL}`)
  return python
}

/** Checks that php runs with the redis extension. */
export function phpInterpreter(): string {
  if (spawnSync('php', ['-r', 'exit(class_exists("Redis") ? 0 : 1);']).status !== 0) throw new Error(`[jobcast] no php with the redis extension: ${INSTALL}`)
  return 'php'
}

/** What a finished command printed. */
export interface RunResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command args` in `cwd` (relative to the repository root) with JOBCAST_REDIS_URL set;
 * resolves when it exits (never rejects on a non-zero status: the caller asserts it).
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; redisUrl: string; env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: new URL(options.cwd ?? '.', `file://${ROOT}`).pathname,
      env: { ...process.env, ...options.env, JOBCAST_REDIS_URL: options.redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}
