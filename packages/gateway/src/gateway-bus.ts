/**
 * The bus a gateway runs on, from its options: the one given, a Redis bus when Redis settings
 * are given, else the embedded in-memory bus.
 */
import type { Bus } from './bus/bus.js'
import { createMemoryBus } from './bus/memory-bus.js'
import { createRedisBus } from './bus/redis-bus.js'
import { checkRedisSettings, type RedisConnectionSettings, type RedisSettingLabels } from './bus/redis-settings.js'
import type { GatewayOptions } from './create-gateway.js'

/** The Redis options' names in {@link GatewayOptions}, for error messages. */
const GATEWAY_REDIS_LABELS: RedisSettingLabels = {
  url: 'redisUrl',
  cluster: 'cluster',
  sentinels: 'sentinels',
  sentinelName: 'sentinelName',
  username: 'redisUsername',
  password: 'redisPassword',
  tls: 'redisTls',
}

/** The bus of a gateway and where it came from. */
export interface GatewayBus {
  readonly bus: Bus
  /** Whether the gateway built it, and so closes it. */
  readonly owned: boolean
  /** The checked Redis settings the bus was built from, if any. */
  readonly redis: RedisConnectionSettings | undefined
}

/**
 * Builds (or takes) the bus of a gateway.
 * @throws JobcastError `invalid_config` when the Redis options do not name one Redis
 */
export function createGatewayBus(options: GatewayOptions): GatewayBus {
  if (options.bus) return { bus: options.bus, owned: false, redis: undefined }
  const redis = checkRedisSettings(
    {
      url: options.redisUrl,
      cluster: options.cluster,
      sentinels: options.sentinels,
      sentinelName: options.sentinelName,
      sentinelPassword: options.sentinelPassword,
      username: options.redisUsername,
      password: options.redisPassword,
      tls: options.redisTls,
    },
    GATEWAY_REDIS_LABELS,
  )
  const bus = redis
    ? createRedisBus({ connection: redis, prefix: options.prefix, ttlSeconds: options.ttlSeconds, autoPipelining: true, log: options.onRedisError })
    : createMemoryBus({ ttlSeconds: options.ttlSeconds })
  return { bus, owned: true, redis }
}
