/**
 * Every bad value given to `jobcast-gateway` is refused with one `[jobcast]` line and exit
 * code 2, never a stack trace. The table is built from OPTION_SPECS, so a new flag is tried
 * with garbage by construction; a few real runs check what the user sees, `--version`, the
 * warning for secrets given as flags, and that SIGTERM to `npm exec` stops the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { gatewayFromConfig } from '../packages/gateway/src/cli-options.js'
import { isConfigError, OPTION_SPECS, parseConfig, secretFlagWarnings, type OptionSpec } from '../packages/gateway/src/config.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = fileURLToPath(new URL('../packages/gateway/dist/cli.js', import.meta.url))
const { version } = JSON.parse(readFileSync(new URL('../packages/gateway/package.json', import.meta.url), 'utf8')) as { version: string }
const SECRET = 'cli-errors-test-secret-0123456789-abcdefghij'

/** The CLI's path from flags to a gateway, in process; the gateway is closed again. */
async function start(argv: readonly string[]): Promise<void> {
  const { gateway, demo } = gatewayFromConfig(parseConfig(['--insecure-open', ...argv], {}))
  demo?.stop()
  await gateway.close()
}

/** What `start` refused with, checked to be a one-line `[jobcast]` configuration error. */
async function refusal(argv: readonly string[]): Promise<string> {
  const error = await start(argv).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error, `${argv.join(' ')} was accepted`).toBeDefined()
  expect(isConfigError(error), String(error)).toBe(true)
  const message = (error as Error).message
  expect(message).not.toContain('\n')
  return message
}

/** Garbage every option of a kind must refuse, and the words its refusal must contain. */
function garbageFor(spec: OptionSpec): Array<{ argv: string[]; says: RegExp }> {
  const missing = spec.kind === 'bool' ? [] : [{ argv: [spec.flag], says: new RegExp(`^\\[jobcast\\] ${spec.flag} needs a value`) }]
  if (spec.kind === 'bool') return [{ argv: [`${spec.flag}=maybe`], says: /true or false, got "maybe"/ }]
  if (spec.kind === 'string') return [...missing, { argv: [`${spec.flag}=`], says: /needs a value/ }]
  if (spec.kind === 'list') return missing
  const { min, max } = spec.range
  const outOfRange = [String(min - 1), ...(max === undefined ? [String(Number.MAX_SAFE_INTEGER + 2)] : [String(max + 1)])]
  return [...missing, ...['abc', '1.5', '1e3', '', ' ', '-1', ...outOfRange].map((raw) => ({ argv: [`${spec.flag}=${raw}`], says: new RegExp(`^\\[jobcast\\] ${spec.flag} must be a whole number`) }))]
}

/** Flags whose garbage depends on what they mean, each with a value it must refuse. */
const MEANINGFUL_GARBAGE: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
  ['--redis-url', ['--redis-url', 'not a url'], /--redis-url must start with redis:\/\//],
  ['--redis-url', ['--redis-url', 'http://nope'], /--redis-url must start with redis:\/\//],
  ['--redis-url', ['--redis-url', 'redis://u:hunter2@host:port'], /--redis-url is not a valid URL: "redis:\/\/u:\*\*\*@/],
  ['--redis-cluster', ['--redis-cluster', 'nope'], /--redis-cluster takes host:port/],
  ['--redis-sentinels', ['--redis-sentinels', 'nope', '--sentinel-name', 'm'], /--redis-sentinels takes host:port/],
  ['--sentinel-name', ['--sentinel-name', 'm'], /--sentinel-name is only used with --redis-sentinels/],
  ['--redis-username', ['--redis-username', 'u'], /given without a Redis/],
  ['--redis-password', ['--redis-password', 'pw'], /given without a Redis/],
  ['--poll-rate', ['--poll-rate', 'fast'], /--poll-rate "fast" is not a rate/],
  ['--subscribe-rate', ['--subscribe-rate', '-1'], /--subscribe-rate "-1" is not a rate/],
  ['--cors-origin', ['--cors-origin', 'nope'], /--cors-origin "nope" is not an origin/],
  ['--secret', ['--secret', 'short'], /at least 32/],
  ['--producer-secret', ['--secret', SECRET, '--producer-secret', SECRET], /--producer-secret equals --secret/],
  ['--public-key', ['--public-key', '/nonexistent/key.pem'], /cannot read the public key file/],
  ['--jwks', ['--jwks', '/nonexistent/jwks.json'], /cannot read the JWKS file/],
  ['--bullmq', ['--bullmq', 'emails'], /--bullmq needs --redis-url/],
  ['--bullmq-job-id', ['--redis-url', 'redis://127.0.0.1:1', '--bullmq', 'emails', '--bullmq-job-id', 'emails'], /has no \{id\}/],
]

/** Text flags where any non-empty value is meaningful (the missing value is still tried). */
const ANY_TEXT = new Set(['--host', '--prefix', '--audience', '--issuer', '--bullmq-prefix'])

describe('every flag refuses garbage with one [jobcast] line', () => {
  it.each(OPTION_SPECS.flatMap((spec) => garbageFor(spec).map((garbage) => [garbage.argv.join(' '), garbage] as const)))('%s', async (_, { argv, says }) => {
    expect(await refusal(argv)).toMatch(says)
  })

  it.each(MEANINGFUL_GARBAGE)('%s: %j', async (_, argv, says) => {
    const message = await refusal(argv)
    expect(message).toMatch(/^\[jobcast\] /)
    expect(message).toMatch(says)
    expect(message).not.toContain('hunter2')
  })

  it('has a meaningful-garbage case for every text or list flag that is not free text', () => {
    const covered = new Set(MEANINGFUL_GARBAGE.map(([flag]) => flag))
    const uncovered = OPTION_SPECS.filter((spec) => (spec.kind === 'string' || spec.kind === 'list') && !covered.has(spec.flag) && !ANY_TEXT.has(spec.flag))
    expect(uncovered.map((spec) => spec.flag)).toEqual([])
  })

  it('starts at both ends of every numeric range', async () => {
    for (const spec of OPTION_SPECS) {
      if (spec.kind !== 'int') continue
      for (const edge of [spec.range.min, spec.range.max ?? Number.MAX_SAFE_INTEGER]) await start([spec.flag, String(edge)])
    }
  })

  it('names the env variable when the bad value comes from the environment', () => {
    expect(() => parseConfig([], { JOBCAST_TTL: '0' })).toThrow(/^\[jobcast\] JOBCAST_TTL must be a whole number of seconds ≥ 1, got 0$/)
  })

  it('suggests the flag a typo meant, and only a close one', async () => {
    expect(await refusal(['--tll', '5'])).toMatch(/unknown option "--tll": did you mean --ttl\?/)
    expect(await refusal(['--redis-ulr=redis://x'])).toMatch(/did you mean --redis-url\?/)
    expect(await refusal(['--frobnicate'])).not.toMatch(/did you mean/)
  })
})

describe('secrets given as flags', () => {
  it('warn once per flag, name the env var, never quote the value', () => {
    const warnings = secretFlagWarnings(['--secret', 'value-one', '--producer-secret=value-two', '--redis-password', 'value-three', '--redis-url', 'redis://user:value-four@127.0.0.1:6379', '--secret', 'value-one'])
    expect(warnings).toHaveLength(4)
    for (const [flag, env] of [['--secret', 'JOBCAST_SECRET'], ['--producer-secret', 'JOBCAST_PRODUCER_SECRET'], ['--redis-password', 'JOBCAST_REDIS_PASSWORD'], ['a password inside --redis-url', 'JOBCAST_REDIS_URL']]) {
      expect(warnings.some((line) => line.startsWith(`[jobcast] warning: ${flag} is on the command line`) && line.includes(`set ${env} instead`)), flag).toBe(true)
    }
    expect(warnings.join('\n')).not.toMatch(/value-/)
  })

  it('do not warn for a URL without a password or for the env vars', () => {
    expect(secretFlagWarnings(['--redis-url', 'redis://user@127.0.0.1:6379', '--port', '1'])).toEqual([])
  })
})

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('JOBCAST_') && !name.startsWith('npm_'))), ...extra }
}

/** Runs a command; resolves when `until` matches its output (then it keeps running) or when it exits. */
function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; until?: RegExp } = {}): Promise<{ stdout: string; stderr: string; code: number | null; child: ChildProcess }> {
  const child = spawn(command, args, { cwd: root, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stdout = ''
  let stderr = ''
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ stdout, stderr, code: null, child }), 15_000)
    const check = (): void => {
      if (options.until?.test(stdout + stderr)) {
        clearTimeout(timer)
        resolve({ stdout, stderr, code: null, child })
      }
    }
    child.stdout?.on('data', (chunk) => ((stdout += chunk), check()))
    child.stderr?.on('data', (chunk) => ((stderr += chunk), check()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code, child })
    })
  })
}

describe('the built jobcast-gateway', () => {
  it.each([
    [['--ttl', '0'], '[jobcast] --ttl must be a whole number of seconds ≥ 1, got 0'],
    [['--redis-url', 'not a url'], '[jobcast] --redis-url must start with redis:// (or rediss:// for TLS), e.g. redis://127.0.0.1:6379, got "not a url"'],
    [['--redis-url', 'http://nope'], '[jobcast] --redis-url must start with redis:// (or rediss:// for TLS), e.g. redis://127.0.0.1:6379, got "http://nope"'],
    [['--heartbeat', '-5'], '[jobcast] --heartbeat must be a whole number of milliseconds from 1 to 2147483647, got -5'],
    [['--tll', '5'], '[jobcast] unknown option "--tll": did you mean --ttl? run jobcast-gateway --help for the list'],
    [['--port'], '[jobcast] --port needs a value: see --help'],
    [['--host', '999.1.1.1'], '[jobcast] --host 999.1.1.1 (or JOBCAST_HOST) is not an address of this machine: use 127.0.0.1, 0.0.0.0 (all interfaces) or one of its own addresses'],
    [['--redis-url', 'redis://127.0.0.1:1', '--bullmq', 'emails', '--bullmq-job-id', 'emails'], '[jobcast] the BullMQ job id template "emails" has no {id}: use e.g. "{queue}:{id}"'],
  ])('%j: one line on stderr, exit code 2', async (args, line) => {
    expect(existsSync(cli), '[jobcast] packages/gateway/dist/cli.js is missing: run npm run build (npm test does)').toBe(true)
    const { stdout, stderr, code } = await run(process.execPath, [cli, '--insecure-open', ...args])
    expect(code).toBe(2)
    expect(stderr).toBe(`${line}\n`)
    expect(stdout).toBe('')
  })

  it.each([['--version'], ['-v']])('%s prints the package version', async (flag) => {
    const { stdout, code } = await run(process.execPath, [cli, flag, '--ttl', '60'])
    expect(code).toBe(0)
    expect(stdout).toBe(`${version}\n`)
  })

  it('warns on stderr about a secret given as a flag, without printing it', async () => {
    const { stdout, stderr, child } = await run(process.execPath, [cli, '--port', '0', '--secret', SECRET], { until: /transports:/ })
    child.kill('SIGTERM')
    expect(stderr).toMatch(/^\[jobcast\] warning: --secret is on the command line, where other users can read it \(ps, \/proc\) and shell history keeps it: set JOBCAST_SECRET instead$/m)
    expect(stdout + stderr).not.toContain(SECRET)
  })
})

/** Processes whose parent is `pid`, read from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && procStat(Number(name))?.ppid === pid) found.push(Number(name))
  }
  return found
}

/** State and parent of a process, or undefined once it is gone. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state: state as string, ppid: Number(ppid) }
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  const stat = procStat(pid)
  return stat !== undefined && stat.state !== 'Z'
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

describe('started through npm exec', () => {
  it('SIGTERM to the npm process reaches the gateway: its port closes and no gateway process is left', async () => {
    const { stdout, stderr, child } = await run('npm', ['exec', '--offline', '--', 'jobcast-gateway', '--port', '0', '--shutdown-timeout', '1000'], {
      env: cleanEnv({ JOBCAST_SECRET: SECRET }),
      until: /transports:/,
    })
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout + stderr)?.[1])
    expect(port, stdout + stderr).toBeGreaterThan(0)
    const tree = [child.pid as number]
    for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i] as number))
    // npm → sh -c → node (the gateway): the signal goes to npm alone, as a supervisor sends it.
    expect(tree.length).toBeGreaterThanOrEqual(2)
    try {
      expect(await portAccepts(port)).toBe(true)
      child.kill('SIGTERM')
      const deadline = Date.now() + 5_000
      while (tree.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(tree.filter(alive), 'processes left running').toEqual([])
      expect(await portAccepts(port)).toBe(false)
    } finally {
      // An orphaned gateway must not outlive a failed run.
      for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL')
    }
  })
})
