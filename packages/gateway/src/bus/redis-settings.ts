/**
 * Where Redis is, for every topology (one Redis, Redis Cluster, Redis behind Sentinel): the
 * settings are typed, checked and described here without their password. `redis-connection.ts`
 * builds the ioredis clients from them; nothing else reads Redis addresses or credentials.
 */
import type { ConnectionOptions } from 'node:tls'
import { JobcastError } from '../errors.js'

/** A Redis server's address. */
export interface RedisAddress {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string
  /** TCP port, 1–65535. */
  readonly port: number
}

/** Credentials and TLS, the same for every topology. */
export interface RedisAuthSettings {
  /** ACL user name. With `url`, one in the URL is used when this is absent. @default undefined (the `default` user) */
  username?: string
  /** Password of the ACL user (or `requirepass`). Never logged nor shown. @default undefined */
  password?: string
  /**
   * TLS to every Redis server (and sentinel): `true` for Node's defaults, or `tls.connect()`
   * options (CA, client certificate, `servername`). A `rediss://` URL turns it on too.
   * @default false
   */
  tls?: boolean | ConnectionOptions
}

/** One Redis server (or a managed endpoint that looks like one). */
export interface RedisUrlSettings extends RedisAuthSettings {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://…` for TLS. */
  url: string
  cluster?: never
  sentinels?: never
  sentinelName?: never
}

/** A Redis Cluster. */
export interface RedisClusterSettings extends RedisAuthSettings {
  /** Some of its nodes as `host:port`; the others are discovered from them. */
  cluster: readonly string[]
  url?: never
  sentinels?: never
  sentinelName?: never
}

/** A master found through Redis Sentinel. */
export interface RedisSentinelSettings extends RedisAuthSettings {
  /** Sentinels as `host:port`. */
  sentinels: readonly string[]
  /** The master name the sentinels monitor (`sentinel monitor <name> …`). */
  sentinelName: string
  /** Password of the sentinels themselves, when they require one (`requirepass` in sentinel.conf). @default undefined */
  sentinelPassword?: string
  url?: never
  cluster?: never
}

/** Where Redis is: exactly one of `url`, `cluster` or `sentinels` (with `sentinelName`). */
export type RedisConnectionSettings = RedisUrlSettings | RedisClusterSettings | RedisSentinelSettings

/** The shape of a Redis deployment. */
export type RedisTopology = 'standalone' | 'cluster' | 'sentinel'

/** Settings as they arrive from flags, env vars or untyped code: checked by {@link checkRedisSettings}. */
export interface RedisSettingsInput {
  url?: string | undefined
  cluster?: readonly string[] | undefined
  sentinels?: readonly string[] | undefined
  sentinelName?: string | undefined
  sentinelPassword?: string | undefined
  username?: string | undefined
  password?: string | undefined
  tls?: boolean | ConnectionOptions | undefined
}

/** How each setting is called where it came from, for error messages (`--redis-cluster` on the CLI). */
export type RedisSettingLabels = Readonly<Record<'url' | 'cluster' | 'sentinels' | 'sentinelName' | 'username' | 'password' | 'tls', string>>

/** The library's option names. */
const OPTION_LABELS: RedisSettingLabels = {
  url: 'url',
  cluster: 'cluster',
  sentinels: 'sentinels',
  sentinelName: 'sentinelName',
  username: 'username',
  password: 'password',
  tls: 'tls',
}

function invalid(message: string): JobcastError {
  return new JobcastError('invalid_config', message)
}

/**
 * Parses `host:port` (`[::1]:6379` for IPv6).
 * @param label - where the text came from, for the error message
 * @throws JobcastError `invalid_config` saying what a valid entry looks like
 */
export function parseRedisAddress(text: string, label: string): RedisAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim())
  const port = match ? Number(match[3]) : 0
  if (!match || port < 1 || port > 65_535) {
    throw invalid(`[jobcast] ${label} takes host:port entries (e.g. 10.0.0.5:6379 or [::1]:6379), got "${text}"`)
  }
  return { host: (match[1] ?? match[2]) as string, port }
}

/** The topology of checked settings. */
export function redisTopology(settings: RedisConnectionSettings): RedisTopology {
  if (settings.cluster !== undefined) return 'cluster'
  if (settings.sentinels !== undefined) return 'sentinel'
  return 'standalone'
}

/** The user name and password written in a Redis URL (empty when absent or unreadable). */
export function urlCredentials(url: string): { username: string; password: string } {
  try {
    const parsed = new URL(url)
    return { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
  } catch {
    return { username: '', password: '' }
  }
}

/**
 * Checks settings and returns them typed, or `undefined` when no Redis is configured (the
 * embedded in-memory bus). The one place for the rules: exactly one topology, `sentinelName`
 * with `sentinels`, well-formed addresses and URL, a password given once.
 * @param labels - names of the settings in the caller's terms (CLI flags), for the messages
 * @throws JobcastError `invalid_config` with a `[jobcast]` message saying what to change
 */
export function checkRedisSettings(input: RedisSettingsInput, labels: RedisSettingLabels = OPTION_LABELS): RedisConnectionSettings | undefined {
  const cluster = input.cluster?.length ? input.cluster : undefined
  const sentinels = input.sentinels?.length ? input.sentinels : undefined
  const url = input.url === '' ? undefined : input.url
  const given = [url !== undefined && labels.url, cluster && labels.cluster, sentinels && labels.sentinels].filter((label): label is string => typeof label === 'string')
  if (given.length > 1) {
    throw invalid(`[jobcast] ${given.join(' and ')} both name a Redis: give only one of ${labels.url}, ${labels.cluster} or ${labels.sentinels}`)
  }
  if (input.sentinelName !== undefined && input.sentinelName !== '' && !sentinels) {
    throw invalid(`[jobcast] ${labels.sentinelName} is only used with ${labels.sentinels}: add the sentinels' host:port list, or drop it`)
  }
  const auth: RedisAuthSettings = {}
  if (input.username !== undefined && input.username !== '') auth.username = input.username
  if (input.password !== undefined && input.password !== '') auth.password = input.password
  if (input.tls !== undefined && input.tls !== false) auth.tls = input.tls
  if (given.length === 0) {
    const stray = (['username', 'password', 'tls'] as const).filter((key) => auth[key] !== undefined).map((key) => labels[key])
    if (stray.length > 0) throw invalid(`[jobcast] ${stray.join(', ')} given without a Redis: add ${labels.url}, ${labels.cluster} or ${labels.sentinels}`)
    return undefined
  }
  if (url !== undefined) {
    if (!/^rediss?:\/\/[^/]/i.test(url)) {
      throw invalid(`[jobcast] ${labels.url} must start with redis:// (or rediss:// for TLS), e.g. redis://127.0.0.1:6379, got "${redactRedisUrl(url)}"`)
    }
    try {
      const parsed = new URL(url)
      decodeURIComponent(parsed.username)
      decodeURIComponent(parsed.password)
    } catch {
      throw invalid(`[jobcast] ${labels.url} is not a valid URL: "${redactRedisUrl(url)}" (percent-encode special characters of the password)`)
    }
    const fromUrl = urlCredentials(url)
    if (fromUrl.password !== '' && auth.password !== undefined) {
      throw invalid(`[jobcast] the Redis password is given twice, in ${labels.url} and in ${labels.password}: keep one (${labels.password} keeps it out of the URL)`)
    }
    if (fromUrl.username !== '' && auth.username !== undefined && fromUrl.username !== auth.username) {
      throw invalid(`[jobcast] the Redis user name differs between ${labels.url} and ${labels.username}: keep one`)
    }
    return { url, ...auth }
  }
  if (cluster) {
    for (const entry of cluster) parseRedisAddress(entry, labels.cluster)
    return { cluster: [...cluster], ...auth }
  }
  const sentinelList = sentinels as readonly string[]
  for (const entry of sentinelList) parseRedisAddress(entry, labels.sentinels)
  if (input.sentinelName === undefined || input.sentinelName === '') {
    throw invalid(`[jobcast] ${labels.sentinels} needs ${labels.sentinelName}: the master name of "sentinel monitor <name> …" in sentinel.conf`)
  }
  const settings: RedisSentinelSettings = { sentinels: [...sentinelList], sentinelName: input.sentinelName, ...auth }
  if (input.sentinelPassword !== undefined && input.sentinelPassword !== '') settings.sentinelPassword = input.sentinelPassword
  return settings
}

/**
 * Scheme and user info (`user:password`) of a URL. Greedy up to the last `@` before the path,
 * as URL parsers read it, so an `@` inside a password cannot leak the rest of it.
 */
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)@/i

/** `url` without its user info, for a client that takes the credentials as options. */
export function withoutUserInfo(url: string): string {
  return url.replace(USER_INFO, '$1')
}

/** `url` with the password (if any) replaced by `***`; works on malformed URLs too. */
export function redactRedisUrl(url: string): string {
  return url.replace(USER_INFO, (_, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(':')
    return colon === -1 ? `${scheme}${userInfo}@` : `${scheme}${userInfo.slice(0, colon)}:***@`
  })
}

/**
 * One line naming the Redis of `settings`, for logs and error messages; never the password.
 * @example describeRedisTarget({ cluster: ['10.0.0.5:6379'], password: 's3cret' }) // 'cluster 10.0.0.5:6379 (password ***)'
 */
export function describeRedisTarget(settings: RedisConnectionSettings): string {
  const details: string[] = []
  if (settings.username !== undefined) details.push(`user ${settings.username}`)
  if (settings.password !== undefined) details.push('password ***')
  if (settings.tls !== undefined && settings.tls !== false) details.push('TLS')
  const suffix = details.length > 0 ? ` (${details.join(', ')})` : ''
  if (settings.cluster !== undefined) return `cluster ${settings.cluster.join(',')}${suffix}`
  if (settings.sentinels !== undefined) return `sentinel master "${settings.sentinelName}" via ${settings.sentinels.join(',')}${suffix}`
  return `${redactRedisUrl(settings.url)}${suffix}`
}
