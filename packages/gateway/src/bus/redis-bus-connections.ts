/**
 * The two connections of a Redis bus, from its options: the caller's connection (and its
 * duplicate to subscribe), or a pair the bus builds from the settings and owns.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { RedisBusOptions } from './redis-bus.js'
import { createRedisConnections } from './redis-connection.js'
import { describeRedisTarget } from './redis-settings.js'

/** The connections of a Redis bus, and what it must close. */
export interface RedisBusConnections {
  /** For commands: snapshots and the scripts. */
  readonly command: Redis | Cluster
  /** Whether the bus built `command`, and so closes it. */
  readonly ownsCommand: boolean
  /** Where Redis is, for messages (never the password). */
  readonly target: string
  /** Builds the subscriber connection, already connecting; called at most once. */
  openSubscriber(): Redis | Cluster
  /** Frees what `openSubscriber` prepared, for a bus that never subscribed. */
  dropUnusedSubscriber(): void
}

/** The connections of a bus whose commands time out after `timeoutMs` ms. */
export function redisBusConnections(options: RedisBusOptions, timeoutMs: number): RedisBusConnections {
  const redisOptions: RedisOptions = {
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // Keep reconnecting, at most every 2 s: an outage must end by itself.
    retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
  }
  const subscriberOptions: RedisOptions = { ...redisOptions, autoResubscribe: true, autoResendUnfulfilledCommands: true }
  if (options.redis) {
    const given = options.redis
    return {
      command: given,
      ownsCommand: false,
      target: 'the given Redis connection',
      openSubscriber: () => given.duplicate(subscriberOptions),
      dropUnusedSubscriber: () => {},
    }
  }
  const settings = options.connection ?? { url: options.url ?? 'redis://127.0.0.1:6379' }
  const connections = createRedisConnections(settings, {
    redisOptions: {
      ...redisOptions,
      autoResendUnfulfilledCommands: options.resendLostReplies ?? false,
      enableAutoPipelining: options.autoPipelining ?? false,
    },
    subscriberOptions: { ...subscriberOptions, enableAutoPipelining: false },
    lazySubscriber: true,
  })
  return {
    command: connections.command,
    ownsCommand: true,
    target: describeRedisTarget(settings),
    openSubscriber: () => {
      // Its errors are reported through the listeners the bus attaches right after this.
      connections.subscriber.connect().catch(() => {})
      return connections.subscriber
    },
    dropUnusedSubscriber: () => connections.subscriber.disconnect(),
  }
}
