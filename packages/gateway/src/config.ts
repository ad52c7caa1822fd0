/**
 * Gateway configuration from CLI flags and environment variables (flags win). Pure: the
 * caller passes `argv` and `env`, nothing is read from the process here.
 *
 * Each option is one row of {@link OPTION_SPECS}; adding an option (e.g. `--secret`) means
 * adding a field to {@link GatewayConfig} and a row here — `--help` and parsing follow.
 * One file, though long: the option table is the CLI's single source and its parser and help
 * read it row by row; splitting them would scatter one list over files that change together.
 */
import { DEFAULT_BULLMQ_JOB_ID } from './bullmq/job-id.js'
import { DEFAULT_BULL_PREFIX } from './bullmq/keys.js'

import { isJobcastError } from './errors.js'
import { checkRedisSettings, type RedisConnectionSettings, type RedisSettingLabels } from './bus/redis-settings.js'

/** Everything the CLI needs to start a gateway. */
export interface GatewayConfig {
  /** TCP port. @default 3030 */
  port: number
  /** Interface to bind. @default '127.0.0.1' */
  host: string
  /** Redis URL (`redis://…`, `rediss://…` for TLS); none of the three Redis targets runs the embedded in-memory bus. @default undefined */
  redisUrl: string | undefined
  /** Redis Cluster nodes as `host:port` (some suffice; the rest are discovered). @default [] */
  redisCluster: string[]
  /** Sentinels as `host:port`; needs `sentinelName`. @default [] */
  redisSentinels: string[]
  /** Master name the sentinels monitor. @default undefined */
  sentinelName: string | undefined
  /** Redis ACL user name. @default undefined (the `default` user) */
  redisUsername: string | undefined
  /** Redis password (prefer the env var: flags show in `ps`). Never printed. @default undefined */
  redisPassword: string | undefined
  /** TLS to Redis (and sentinels) when no `rediss://` URL says so. @default false */
  redisTls: boolean
  /** Redis key/channel prefix. @default 'jobcast:' */
  prefix: string
  /** Snapshot TTL in seconds. @default 86400 */
  ttlSeconds: number
  /** SSE heartbeat comment interval, ms. @default 15000 */
  heartbeatMs: number
  /** WebSocket protocol ping interval, ms; a peer that misses one is dropped. @default 30000 */
  wsPingIntervalMs: number
  /** Max job subscriptions per WebSocket. @default 100 */
  maxSubscriptions: number
  /** Max inbound WebSocket frame, bytes (bigger → close 1009). @default 16384 */
  maxFrameBytes: number
  /** Max unsent output per connection, bytes (more → slow consumer, closed). @default 1048576 */
  maxBufferedBytes: number
  /** Max jobs on one multi-job SSE stream. @default 100 */
  maxJobsPerStream: number
  /** Bound on graceful shutdown, ms. @default 5000 */
  shutdownTimeoutMs: number
  /** Demo mode: embedded bus, open auth, demo routes and page. @default false */
  demo: boolean
  /** Allow every request without a token (local development only). @default false */
  insecureOpen: boolean
  /** HS256 shared secret for job tokens (prefer the env var: flags show in `ps`). @default undefined */
  secret: string | undefined
  /** HS256 secret of producer tokens; turns on HTTP ingest. Never the browsers' secret. @default undefined (ingest off) */
  producerSecret: string | undefined
  /** PEM public key file (RS256/ES256 job tokens). @default undefined */
  publicKeyFile: string | undefined
  /** JWKS file (RS256/ES256 job tokens). @default undefined */
  jwksFile: string | undefined
  /** Required `aud` claim. @default undefined (not checked) */
  audience: string | undefined
  /** Required `iss` claim. @default undefined (not checked) */
  issuer: string | undefined
  /** Longest accepted token, bytes. @default 4096 */
  maxTokenBytes: number
  /** Longest remaining token lifetime accepted, seconds (0 = no cap). @default 0 */
  maxTokenLifetimeSec: number
  /** Allowed browser origins (CORS and WebSocket upgrades). @default [] (same host only) */
  corsOrigins: string[]
  /** WebSocket connections per client IP (0 = unlimited). @default 64 */
  maxConnectionsPerIp: number
  /** SSE streams per client IP (0 = unlimited). @default 32 */
  maxSsePerIp: number
  /** TCP connections per client IP, idle ones included (0 = unlimited; not applied with `trustProxyHops`). @default 128 */
  maxSocketsPerIp: number
  /** TCP connections in total (0 = unlimited). @default 10000 */
  maxSockets: number
  /** Time a connection has to deliver a complete request, ms (a silent socket is closed after it). @default 5000 */
  requestTimeoutMs: number
  /** Polling rate per client IP: `<per-second>[:<burst>]`. @default '20:40' */
  pollRate: string
  /** Subscription rate per client IP (WebSocket subscribes + SSE stream opens, per job): `<per-second>[:<burst>]`. @default '50:500' */
  subscribeRate: string
  /** Trusted reverse-proxy hops for `X-Forwarded-For`. @default 0 */
  trustProxyHops: number
  /** BullMQ queues whose jobs' events the gateway publishes (docs/bullmq.md); needs `redisUrl`. @default [] (no bridge) */
  bullmqQueues: string[]
  /** BullMQ's key prefix. @default 'bull' */
  bullmqPrefix: string
  /** jobcast job id of a BullMQ job: `{queue}` and `{id}` are replaced. @default '{queue}:{id}' */
  bullmqJobId: string
  /** `--help` was asked for. @default false */
  help: boolean
  /** `--version` was asked for. @default false */
  version: boolean
}

/** A flag or environment variable the gateway cannot use; the message says how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Whether an error is the user's to fix (a bad flag, env var or option value): a
 * {@link ConfigError} or the library's `invalid_config`, as opposed to a bug in the gateway.
 */
export function isConfigError(error: unknown): error is Error {
  return error instanceof ConfigError || (isJobcastError(error) && error.code === 'invalid_config')
}

/** Longest delay Node's timers accept, ms; a longer one silently becomes 1 ms. */
const MAX_TIMER_MS = 2_147_483_647

/** The whole numbers an `int` option accepts, and what they count (for the error message). */
export interface IntRange {
  /** Smallest accepted value. */
  readonly min: number
  /** Largest accepted value. @default Number.MAX_SAFE_INTEGER */
  readonly max?: number
  /** What the number counts, named in the error message. @default undefined (a plain count) */
  readonly unit?: 'seconds' | 'milliseconds' | 'bytes'
}

interface OptionSpecBase {
  /** The {@link GatewayConfig} field it sets. */
  readonly key: keyof GatewayConfig
  /** The CLI flag, e.g. `--port`. */
  readonly flag: string
  /** Environment variables, strongest first (`JOBCAST_PORT` before `PORT`). */
  readonly env: readonly string[]
  /** One line for `--help`. */
  readonly help: string
  /** Value placeholder shown in `--help`. */
  readonly arg?: string
  /** The value is a credential: given as a flag it shows in `ps` and shell history, so the CLI warns. @default false */
  readonly secret?: boolean
}

/**
 * One configurable option: its flag, env vars, type (with its range for numbers), default and help line.
 * `kind` says how the text is converted; a `list` is a repeatable flag and/or a comma-separated value.
 */
export type OptionSpec = OptionSpecBase &
  ({ readonly kind: 'int'; readonly range: IntRange } | { readonly kind: 'string' } | { readonly kind: 'bool' } | { readonly kind: 'list' })

const COUNT: IntRange = { min: 1 }
const COUNT_OR_UNLIMITED: IntRange = { min: 0 }
const BYTES: IntRange = { min: 1, unit: 'bytes' }
const INTERVAL_MS: IntRange = { min: 1, max: MAX_TIMER_MS, unit: 'milliseconds' }
const BOUND_MS: IntRange = { min: 0, max: MAX_TIMER_MS, unit: 'milliseconds' }

/** Every option the gateway understands, in `--help` order. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'port', flag: '--port', env: ['JOBCAST_PORT', 'PORT'], kind: 'int', range: { min: 0, max: 65_535 }, arg: '<n>', help: 'TCP port (0 = any free port)' },
  { key: 'host', flag: '--host', env: ['JOBCAST_HOST'], kind: 'string', arg: '<addr>', help: 'interface to bind (0.0.0.0 for all)' },
  { key: 'redisUrl', flag: '--redis-url', env: ['JOBCAST_REDIS_URL'], kind: 'string', arg: '<url>', help: 'Redis URL (rediss:// for TLS); no Redis option = embedded in-memory bus' },
  { key: 'redisCluster', flag: '--redis-cluster', env: ['JOBCAST_REDIS_CLUSTER'], kind: 'list', arg: '<h:p,…>', help: 'Redis Cluster nodes (instead of --redis-url)' },
  { key: 'redisSentinels', flag: '--redis-sentinels', env: ['JOBCAST_REDIS_SENTINELS'], kind: 'list', arg: '<h:p,…>', help: 'Redis Sentinels (instead of --redis-url), with --sentinel-name' },
  { key: 'sentinelName', flag: '--sentinel-name', env: ['JOBCAST_SENTINEL_NAME'], kind: 'string', arg: '<name>', help: 'master name the sentinels monitor' },
  { key: 'redisUsername', flag: '--redis-username', env: ['JOBCAST_REDIS_USERNAME'], kind: 'string', arg: '<user>', help: 'Redis ACL user' },
  { key: 'redisPassword', flag: '--redis-password', env: ['JOBCAST_REDIS_PASSWORD'], kind: 'string', secret: true, arg: '<pw>', help: 'Redis password (prefer the env var)' },
  { key: 'redisTls', flag: '--redis-tls', env: ['JOBCAST_REDIS_TLS'], kind: 'bool', help: 'TLS to Redis and sentinels' },
  { key: 'prefix', flag: '--prefix', env: ['JOBCAST_PREFIX'], kind: 'string', arg: '<p>', help: 'Redis key and channel prefix' },
  { key: 'ttlSeconds', flag: '--ttl', env: ['JOBCAST_TTL'], kind: 'int', range: { min: 1, unit: 'seconds' }, arg: '<s>', help: 'snapshot TTL, seconds' },
  { key: 'heartbeatMs', flag: '--heartbeat', env: ['JOBCAST_HEARTBEAT'], kind: 'int', range: INTERVAL_MS, arg: '<ms>', help: 'SSE heartbeat comment interval, ms' },
  { key: 'wsPingIntervalMs', flag: '--ws-ping-interval', env: ['JOBCAST_WS_PING_INTERVAL'], kind: 'int', range: INTERVAL_MS, arg: '<ms>', help: 'WebSocket ping interval, ms' },
  { key: 'maxSubscriptions', flag: '--max-subscriptions', env: ['JOBCAST_MAX_SUBSCRIPTIONS'], kind: 'int', range: COUNT, arg: '<n>', help: 'max jobs per WebSocket' },
  { key: 'maxFrameBytes', flag: '--max-frame-bytes', env: ['JOBCAST_MAX_FRAME_BYTES'], kind: 'int', range: BYTES, arg: '<n>', help: 'max inbound WebSocket frame, bytes' },
  { key: 'maxBufferedBytes', flag: '--max-buffered-bytes', env: ['JOBCAST_MAX_BUFFERED_BYTES'], kind: 'int', range: BYTES, arg: '<n>', help: 'max unsent bytes per connection before it is closed as a slow consumer' },
  { key: 'maxJobsPerStream', flag: '--max-jobs-per-stream', env: ['JOBCAST_MAX_JOBS_PER_STREAM'], kind: 'int', range: COUNT, arg: '<n>', help: 'max jobs on one /v1/events stream' },
  { key: 'shutdownTimeoutMs', flag: '--shutdown-timeout', env: ['JOBCAST_SHUTDOWN_TIMEOUT'], kind: 'int', range: BOUND_MS, arg: '<ms>', help: 'bound on graceful shutdown, ms' },
  { key: 'demo', flag: '--demo', env: ['JOBCAST_DEMO'], kind: 'bool', help: 'demo mode: embedded bus, open auth, demo page and /demo routes' },
  { key: 'insecureOpen', flag: '--insecure-open', env: ['JOBCAST_INSECURE_OPEN'], kind: 'bool', help: 'allow every request without a token (development only)' },
  { key: 'secret', flag: '--secret', env: ['JOBCAST_SECRET'], kind: 'string', secret: true, arg: '<s>', help: 'HS256 job token secret, 32+ bytes (prefer the env var)' },
  { key: 'producerSecret', flag: '--producer-secret', env: ['JOBCAST_PRODUCER_SECRET'], kind: 'string', secret: true, arg: '<s>', help: 'HS256 secret of producer tokens, 32+ bytes; turns on POST /v1/jobs/:id/events (prefer the env var)' },
  { key: 'publicKeyFile', flag: '--public-key', env: ['JOBCAST_PUBLIC_KEY'], kind: 'string', arg: '<file>', help: 'PEM public key for RS256/ES256 job tokens' },
  { key: 'jwksFile', flag: '--jwks', env: ['JOBCAST_JWKS'], kind: 'string', arg: '<file>', help: 'JWKS file for RS256/ES256 job tokens' },
  { key: 'audience', flag: '--audience', env: ['JOBCAST_AUDIENCE'], kind: 'string', arg: '<aud>', help: 'required aud claim of job tokens' },
  { key: 'issuer', flag: '--issuer', env: ['JOBCAST_ISSUER'], kind: 'string', arg: '<iss>', help: 'required iss claim of job tokens' },
  { key: 'maxTokenBytes', flag: '--max-token-bytes', env: ['JOBCAST_MAX_TOKEN_BYTES'], kind: 'int', range: BYTES, arg: '<n>', help: 'longest accepted token, bytes' },
  { key: 'maxTokenLifetimeSec', flag: '--max-token-lifetime', env: ['JOBCAST_MAX_TOKEN_LIFETIME'], kind: 'int', range: { min: 0, unit: 'seconds' }, arg: '<s>', help: 'refuse tokens whose exp is more than this many seconds ahead (0 = no cap)' },
  { key: 'corsOrigins', flag: '--cors-origin', env: ['JOBCAST_CORS_ORIGIN'], kind: 'list', arg: '<origin>', help: 'allowed browser origin (repeatable or comma-separated)' },
  { key: 'maxConnectionsPerIp', flag: '--max-connections-per-ip', env: ['JOBCAST_MAX_CONNECTIONS_PER_IP'], kind: 'int', range: COUNT_OR_UNLIMITED, arg: '<n>', help: 'WebSocket connections per client IP (0 = unlimited)' },
  { key: 'maxSsePerIp', flag: '--max-sse-per-ip', env: ['JOBCAST_MAX_SSE_PER_IP'], kind: 'int', range: COUNT_OR_UNLIMITED, arg: '<n>', help: 'SSE streams per client IP (0 = unlimited)' },
  { key: 'maxSocketsPerIp', flag: '--max-sockets-per-ip', env: ['JOBCAST_MAX_SOCKETS_PER_IP'], kind: 'int', range: COUNT_OR_UNLIMITED, arg: '<n>', help: 'TCP connections per client IP, idle ones included (0 = unlimited; off behind --trust-proxy)' },
  { key: 'maxSockets', flag: '--max-sockets', env: ['JOBCAST_MAX_SOCKETS'], kind: 'int', range: COUNT_OR_UNLIMITED, arg: '<n>', help: 'TCP connections in total (0 = unlimited)' },
  { key: 'requestTimeoutMs', flag: '--request-timeout', env: ['JOBCAST_REQUEST_TIMEOUT'], kind: 'int', range: BOUND_MS, arg: '<ms>', help: 'time a connection has to send a complete request, ms (0 = Node defaults)' },
  { key: 'pollRate', flag: '--poll-rate', env: ['JOBCAST_POLL_RATE'], kind: 'string', arg: '<r[:b]>', help: 'polling requests per second per IP [:burst] (0 = unlimited)' },
  { key: 'subscribeRate', flag: '--subscribe-rate', env: ['JOBCAST_SUBSCRIBE_RATE'], kind: 'string', arg: '<r[:b]>', help: 'job subscriptions per second per IP [:burst], WebSocket and SSE (0 = unlimited)' },
  { key: 'trustProxyHops', flag: '--trust-proxy', env: ['JOBCAST_TRUST_PROXY'], kind: 'int', range: COUNT_OR_UNLIMITED, arg: '<hops>', help: 'reverse proxies trusted for X-Forwarded-For' },
  { key: 'bullmqQueues', flag: '--bullmq', env: ['JOBCAST_BULLMQ'], kind: 'list', arg: '<queue>', help: 'publish the events of these BullMQ queues\' jobs (repeatable or comma-separated; needs --redis-url)' },
  { key: 'bullmqPrefix', flag: '--bullmq-prefix', env: ['JOBCAST_BULLMQ_PREFIX'], kind: 'string', arg: '<p>', help: 'BullMQ\'s key prefix (its prefix option)' },
  { key: 'bullmqJobId', flag: '--bullmq-job-id', env: ['JOBCAST_BULLMQ_JOB_ID'], kind: 'string', arg: '<template>', help: 'jobcast job id of a BullMQ job; {queue} and {id} are replaced' },
  { key: 'help', flag: '--help', env: [], kind: 'bool', help: 'print this help and exit (also -h)' },
  { key: 'version', flag: '--version', env: [], kind: 'bool', help: 'print the version and exit (also -v)' },
]

/** The defaults, one place. */
export const DEFAULT_CONFIG: Readonly<GatewayConfig> = Object.freeze({
  port: 3030,
  host: '127.0.0.1',
  redisUrl: undefined,
  redisCluster: [],
  redisSentinels: [],
  sentinelName: undefined,
  redisUsername: undefined,
  redisPassword: undefined,
  redisTls: false,
  prefix: 'jobcast:',
  ttlSeconds: 86_400,
  heartbeatMs: 15_000,
  wsPingIntervalMs: 30_000,
  maxSubscriptions: 100,
  maxFrameBytes: 16_384,
  maxBufferedBytes: 1_048_576,
  maxJobsPerStream: 100,
  shutdownTimeoutMs: 5_000,
  demo: false,
  insecureOpen: false,
  secret: undefined,
  producerSecret: undefined,
  publicKeyFile: undefined,
  jwksFile: undefined,
  audience: undefined,
  issuer: undefined,
  maxTokenBytes: 4_096,
  maxTokenLifetimeSec: 0,
  corsOrigins: [],
  maxConnectionsPerIp: 64,
  maxSsePerIp: 32,
  maxSocketsPerIp: 128,
  maxSockets: 10_000,
  requestTimeoutMs: 5_000,
  pollRate: '20:40',
  subscribeRate: '50:500',
  trustProxyHops: 0,
  bullmqQueues: [],
  bullmqPrefix: DEFAULT_BULL_PREFIX,
  bullmqJobId: DEFAULT_BULLMQ_JOB_ID,
  help: false,
  version: false,
})

function convert(spec: OptionSpec, raw: string, source: string): string | number | boolean | string[] {
  if (spec.kind === 'list') return raw.split(',').map((part) => part.trim()).filter((part) => part !== '')
  if (spec.kind === 'string') {
    if (raw === '') throw new ConfigError(`[jobcast] ${source} needs a value: see --help`)
    return raw
  }
  if (spec.kind === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off|)$/i.test(raw)) return false
    throw new ConfigError(`[jobcast] ${source} must be true or false, got "${raw}"`)
  }
  const { min, max = Number.MAX_SAFE_INTEGER, unit } = spec.range
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (!(value >= min && value <= max)) {
    const whole = unit === undefined ? 'a whole number' : `a whole number of ${unit}`
    const bounds = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
    throw new ConfigError(`[jobcast] ${source} must be ${whole} ${bounds}, got ${/^[-\w.+]+$/.test(raw) ? raw : JSON.stringify(raw)}`)
  }
  return value
}

/** Edit distance, to suggest the flag a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] as number
}

function unknownOption(name: string): ConfigError {
  const typed = name.replace(/^-*/, '--')
  let best: OptionSpec | undefined
  let bestDistance = 3
  for (const spec of OPTION_SPECS) {
    const distance = editDistance(typed, spec.flag)
    if (distance < bestDistance) [best, bestDistance] = [spec, distance]
  }
  const hint = best ? `did you mean ${best.flag}? ` : ''
  return new ConfigError(`[jobcast] unknown option ${JSON.stringify(name)}: ${hint}run jobcast-gateway --help for the list`)
}

/** Short aliases, each standing for a flag. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { '-h': '--help', '-v': '--version' }

/**
 * The flags of `argv` in order, each with its raw text (`--port 8080`, `--port=8080`, `--demo`).
 * @throws ConfigError on an unknown flag or a missing value
 */
function flagsOf(argv: readonly string[]): Array<{ spec: OptionSpec; raw: string }> {
  const flags: Array<{ spec: OptionSpec; raw: string }> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const eq = arg.indexOf('=')
    const typed = eq === -1 ? arg : arg.slice(0, eq)
    const name = SHORT_FLAGS[typed] ?? typed
    const spec = OPTION_SPECS.find((s) => s.flag === name)
    if (!spec) throw unknownOption(typed)
    let raw: string
    if (eq !== -1) raw = arg.slice(eq + 1)
    else if (spec.kind === 'bool') raw = 'true'
    else {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`[jobcast] ${name} needs a value: see --help`)
      raw = next
      i++
    }
    flags.push({ spec, raw })
  }
  return flags
}

/**
 * Warnings for credentials given as flags (`--secret`, a password inside `--redis-url`, …):
 * other users see them in `ps` and they stay in shell history. Never quotes the value.
 * @throws ConfigError as {@link parseConfig} does for a malformed command line
 */
export function secretFlagWarnings(argv: readonly string[]): string[] {
  const warnings = new Map<string, string>()
  for (const { spec, raw } of flagsOf(argv)) {
    const what = spec.secret === true && raw !== '' ? spec.flag : spec.key === 'redisUrl' && hasUrlPassword(raw) ? `a password inside ${spec.flag}` : undefined
    if (what === undefined) continue
    warnings.set(what, `[jobcast] warning: ${what} is on the command line, where other users can read it (ps, /proc) and shell history keeps it: set ${spec.env[0] ?? 'its environment variable'} instead`)
  }
  return [...warnings.values()]
}

function hasUrlPassword(url: string): boolean {
  try {
    return new URL(url).password !== ''
  } catch {
    return false
  }
}

/**
 * Parse flags (`--port 8080`, `--port=8080`, `--demo`) over env vars over defaults.
 * Throws a {@link ConfigError} with a `[jobcast]` message on an unknown flag or bad value.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): GatewayConfig {
  const config: Record<string, unknown> = {
    ...DEFAULT_CONFIG,
    corsOrigins: [...DEFAULT_CONFIG.corsOrigins],
    redisCluster: [...DEFAULT_CONFIG.redisCluster],
    redisSentinels: [...DEFAULT_CONFIG.redisSentinels],
    bullmqQueues: [...DEFAULT_CONFIG.bullmqQueues],
  }
  const listsFromFlags = new Set<string>()
  for (const spec of OPTION_SPECS) {
    for (const name of [...spec.env].reverse()) {
      const raw = env[name]
      if (raw !== undefined && raw !== '') config[spec.key] = convert(spec, raw, name)
    }
  }
  for (const { spec, raw } of flagsOf(argv)) {
    const value = convert(spec, raw, spec.flag)
    if (spec.kind === 'list') {
      // A repeated list flag accumulates; the first one replaces the env value.
      const previous = listsFromFlags.has(spec.key) ? (config[spec.key] as string[]) : []
      listsFromFlags.add(spec.key)
      config[spec.key] = [...previous, ...(value as string[])]
    } else {
      config[spec.key] = value
    }
  }
  const result = config as unknown as GatewayConfig
  if (result.demo) result.insecureOpen = true
  if (result.bullmqQueues.length > 0 && (result.demo || result.redisUrl === undefined)) {
    throw new ConfigError("[jobcast] --bullmq needs --redis-url, the Redis your BullMQ queues use (and no --demo)")
  }
  if (result.producerSecret !== undefined && result.producerSecret === result.secret) {
    throw new ConfigError("[jobcast] --producer-secret equals --secret: browsers' job tokens could then publish; generate another one with \"openssl rand -base64 48\"")
  }
  // `--help` and `--version` answer whatever else is set.
  if (!result.help && !result.version) redisSettingsOf(result)
  return result
}

/** What each Redis setting is called on the command line, for error messages. */
const REDIS_FLAGS: RedisSettingLabels = {
  url: '--redis-url',
  cluster: '--redis-cluster',
  sentinels: '--redis-sentinels',
  sentinelName: '--sentinel-name',
  username: '--redis-username',
  password: '--redis-password',
  tls: '--redis-tls',
}

/**
 * The Redis the configuration names (one URL, a cluster or sentinels), checked, or `undefined`
 * for the embedded in-memory bus.
 * @throws ConfigError when the Redis options conflict or are malformed (one line, naming the flags)
 */
export function redisSettingsOf(config: GatewayConfig): RedisConnectionSettings | undefined {
  try {
    return checkRedisSettings(
      {
        url: config.redisUrl,
        cluster: config.redisCluster,
        sentinels: config.redisSentinels,
        sentinelName: config.sentinelName,
        username: config.redisUsername,
        password: config.redisPassword,
        tls: config.redisTls,
      },
      REDIS_FLAGS,
    )
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error))
  }
}

/** The `--help` text: every flag with its env vars and default. */
export function helpText(): string {
  const rows = OPTION_SPECS.map((s) => {
    const flag = s.arg ? `${s.flag} ${s.arg}` : s.flag
    const env = s.env.length ? `  [env ${s.env.join(', ')}]` : ''
    const def = DEFAULT_CONFIG[s.key]
    const empty = def === undefined || (Array.isArray(def) && def.length === 0)
    // Every option shows its default (issue 2: "--help lists them all with defaults").
    const shown = s.key === 'help' || s.key === 'version' ? '' : s.kind === 'bool' ? `  (default ${def === true ? 'on' : 'off'})` : empty ? '  (default none)' : `  (default ${JSON.stringify(def)})`
    return `  ${flag.padEnd(31)}${s.help}${shown}${env}`
  })
  return [
    'Usage: jobcast-gateway [options]',
    '',
    'Relays job events from Redis (or an embedded in-memory bus) to browsers over',
    'WebSocket, SSE and polling. Flags win over environment variables.',
    '',
    'Options:',
    ...rows,
    '',
  ].join('\n')
}
