/**
 * The ioredis clients of a Redis bus, for every topology (one Redis, Redis Cluster, Redis
 * behind Sentinel), built from checked settings (`redis-settings.ts`).
 */
import type { ConnectionOptions } from 'node:tls'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { parseRedisAddress, redisTopology, urlCredentials, withoutUserInfo, type RedisAuthSettings, type RedisConnectionSettings, type RedisTopology } from './redis-settings.js'

/** The two connections a Redis bus uses, and who closes them. */
export interface RedisConnections {
  /** Which kind of deployment they talk to. */
  readonly topology: RedisTopology
  /** For commands: snapshots and the publish script. */
  readonly command: Redis | Cluster
  /**
   * For subscriptions only (a connection in subscribe mode takes no other command). On a
   * cluster it routes `SSUBSCRIBE` to the master owning each channel's slot and re-subscribes
   * after failovers and slot moves (ioredis `shardedSubscribers`).
   */
  readonly subscriber: Redis | Cluster
  /** Closes both at once (no `QUIT` round trip). Safe to call twice. */
  close(): void
}

/** Options of {@link createRedisConnections}. */
export interface CreateRedisConnectionsOptions {
  /**
   * ioredis options applied to every server connection (timeouts, `lazyConnect`,
   * `enableAutoPipelining` …); the settings' address, credentials and TLS win over them.
   * @default {}
   */
  redisOptions?: RedisOptions
  /** ioredis options of the subscriber only, over `redisOptions` (`autoResubscribe` …). @default {} */
  subscriberOptions?: RedisOptions
  /**
   * Build the subscriber without connecting it (`lazyConnect`): it connects on its first
   * command or `connect()`, so a publish-only user never opens it.
   * @default false
   */
  lazySubscriber?: boolean
}

/** Period of the cluster slot map refresh, ms: bounds how long a promoted replica goes unnoticed. */
const SLOTS_REFRESH_INTERVAL_MS = 1_000

/** Wait before retrying a MOVED SSUBSCRIBE, ms: longer than a slot map refresh on a LAN. */
const SHARDED_MOVED_RETRY_MS = 100

function tlsOption(tls: RedisAuthSettings['tls']): ConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined
  return tls === true ? {} : tls
}

/** ioredis options for one server: credentials and TLS of `settings` over `base`. */
function serverOptions(settings: RedisConnectionSettings, base: RedisOptions): RedisOptions {
  const options: RedisOptions = { ...base }
  if (settings.username !== undefined) options.username = settings.username
  if (settings.password !== undefined) options.password = settings.password
  const tls = tlsOption(settings.tls)
  if (tls) options.tls = tls
  return options
}

/**
 * Builds (does not await) the command and subscriber connections for `settings`.
 * Attach `error` listeners before they connect: ioredis reports an outage as `error` events.
 */
export function createRedisConnections(settings: RedisConnectionSettings, options: CreateRedisConnectionsOptions = {}): RedisConnections {
  const base = serverOptions(settings, options.redisOptions ?? {})
  const subscriberBase = serverOptions(settings, { ...options.redisOptions, ...options.subscriberOptions, ...(options.lazySubscriber ? { lazyConnect: true } : {}) })
  const topology = redisTopology(settings)
  let command: Redis | Cluster
  let subscriber: Redis | Cluster
  if (settings.cluster !== undefined) {
    const nodes = settings.cluster.map((entry) => parseRedisAddress(entry, 'cluster'))
    const clusterOptions = (sharded: boolean): ClusterOptions => ({
      redisOptions: sharded ? subscriberBase : base,
      // A Cluster connects on its own schedule, not through its node connections' option.
      ...((sharded ? subscriberBase : base).lazyConnect ? { lazyConnect: true } : {}),
      // `SSUBSCRIBE` must reach the master owning the channel's slot; only this mode routes it.
      shardedSubscribers: sharded,
      // After a slot move, ioredis retries an SSUBSCRIBE's MOVED on its sharded subscribers'
      // own slot map, which only its asynchronous refresh updates: retried at once, the
      // redirections can run out first ("Too many Cluster redirections") on a busy host.
      ...(sharded ? { retryDelayOnMoved: SHARDED_MOVED_RETRY_MS } : {}),
      // A hung or cut-off master keeps its sockets open and sends no MOVED: without a periodic
      // slot refresh, ioredis stays on it after its replica is promoted (ioredis' own default
      // is no periodic refresh).
      slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    })
    command = new Cluster(nodes, clusterOptions(false))
    subscriber = new Cluster(nodes, clusterOptions(true))
  } else if (settings.sentinels !== undefined) {
    const sentinelOptions = (role: RedisOptions): RedisOptions => ({
      ...role,
      sentinels: settings.sentinels.map((entry) => parseRedisAddress(entry, 'sentinels')),
      name: settings.sentinelName,
      // A hung or cut-off master keeps its sockets open: only the sentinels' `+switch-master`
      // tells the connections to move to the promoted replica.
      failoverDetector: true,
      ...(settings.sentinelPassword !== undefined ? { sentinelPassword: settings.sentinelPassword } : {}),
      ...(base.tls ? { enableTLSForSentinelMode: true, sentinelTLS: base.tls } : {}),
    })
    command = new Redis(sentinelOptions(base))
    subscriber = new Redis(sentinelOptions(subscriberBase))
  } else {
    // ioredis lets the URL's credentials override the options, an empty password included
    // (`redis://user@host`), so they leave the URL and join the options.
    const fromUrl = urlCredentials(settings.url)
    const urlOptions = (role: RedisOptions): RedisOptions => {
      const withCredentials: RedisOptions = { ...role }
      if (role.username === undefined && fromUrl.username !== '') withCredentials.username = fromUrl.username
      if (role.password === undefined && fromUrl.password !== '') withCredentials.password = fromUrl.password
      return withCredentials
    }
    const url = withoutUserInfo(settings.url)
    command = new Redis(url, urlOptions(base))
    subscriber = new Redis(url, urlOptions(subscriberBase))
  }
  let closed = false
  return {
    topology,
    command,
    subscriber,
    close() {
      if (closed) return
      closed = true
      command.disconnect()
      subscriber.disconnect()
    },
  }
}
