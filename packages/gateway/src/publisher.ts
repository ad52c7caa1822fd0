/**
 * The Node publisher: what a worker calls to report a job's progress. Also the
 * `@jobcast/gateway/publisher` entry point, so it must stay free of HTTP and WebSocket code.
 * Works against Redis (`url`, `cluster`, `sentinels` or `redis`) and against an in-process bus (`bus`). Rides out
 * Redis outages and restarts (see {@link PublisherOptions} and `bus/publish-queue.ts`).
 */
import type { ConnectionOptions } from 'node:tls'
import type { Redis } from 'ioredis'
import type { Bus, PublishOutcome } from './bus/bus.js'
import { PublishQueue } from './bus/publish-queue.js'
import { createRedisBus } from './bus/redis-bus.js'
import { checkRedisSettings, type RedisConnectionSettings } from './bus/redis-settings.js'
import { JobcastError, ValidationError } from './errors.js'
import { eventInputJson, normalizeEventInput } from './event.js'
import type { JobError, JobEventInput } from './protocol.js'

export type { PublishOutcome } from './bus/bus.js'

/** Options of {@link createPublisher}. Give one of `bus`, `redis`, `url`, `cluster` or `sentinels` (with `sentinelName`). */
export interface PublisherOptions {
  /** A bus to publish on, e.g. the gateway's embedded `MemoryBus`. Not closed by `close()`. */
  bus?: Bus
  /** An existing Redis connection. Not closed by `close()`. */
  redis?: Redis
  /** Redis Cluster nodes as `host:port` (some suffice), instead of `url`. Redis ≥ 7.0. @default undefined */
  cluster?: readonly string[]
  /** Sentinels as `host:port`, instead of `url`; needs `sentinelName`. @default undefined */
  sentinels?: readonly string[]
  /** The master name the sentinels monitor. @default undefined */
  sentinelName?: string
  /** Password of the sentinels themselves, when they require one. @default undefined */
  sentinelPassword?: string
  /** Redis ACL user (with `url`, `cluster` or `sentinels`). @default undefined (the `default` user) */
  username?: string
  /** Redis password (with `url`, `cluster` or `sentinels`). Never logged. @default undefined */
  password?: string
  /** TLS to Redis (and sentinels): `true` or `tls.connect()` options. @default false (a `rediss://` URL turns it on) */
  tls?: boolean | ConnectionOptions
  /** Redis URL to connect to. @default "redis://127.0.0.1:6379" (when neither `bus` nor `redis` is given) */
  url?: string
  /** Key and channel prefix; must match the gateway's. Ignored with `bus`. @default "jobcast:" */
  prefix?: string
  /** Snapshot time to live, in seconds. Ignored with `bus`. @default 86400 */
  ttlSeconds?: number
  /**
   * How long a call waits for Redis during an outage (or before Redis is first reachable),
   * counted from the call, in ms. Then it rejects with `JobcastError` `bus_unavailable`.
   * @default 60000
   */
  retryFor?: number
  /**
   * Most events waiting for Redis at once. A call beyond it rejects at once with
   * `JobcastError` `bus_unavailable`. Merged progress events count once.
   * @default 10000
   */
  maxQueued?: number
  /**
   * How long the publisher remembers the last stored event of each job it published, counted
   * from that job's last publish, in ms. Whenever the connection comes back after a drop,
   * these events are restored where Redis lost them (docs/protocol.md, "Restoring a lost
   * snapshot") before anything queued is sent. `0` turns restoring off.
   * @default 3600000
   */
  restoreWindow?: number
  /** Most jobs remembered for restoring; the least recently published is forgotten first. @default 10000 */
  maxRemembered?: number
  /** How long `close()` waits for queued events to be sent before rejecting them, in ms. @default 5000 */
  closeTimeout?: number
}

/** Optional fields of any event. */
export interface EventFields {
  /** Percent done, 0–100. */
  progress?: number
  /** Human-readable status line. */
  message?: string
  /** Producer-defined details, e.g. `{ processed, total }`. */
  data?: Record<string, unknown>
  /** Milliseconds since the epoch. @default Date.now() */
  ts?: number
}

/**
 * Publishes job events. Every method resolves with the {@link PublishOutcome}: an event after
 * a terminal one is refused (`published: false`), not thrown. Invalid input rejects at once
 * with `ValidationError` (`invalid_job_id`, `invalid_event`).
 *
 * While Redis is unavailable, calls wait and are sent in order per job when it is back; each
 * call rejects with `JobcastError` `bus_unavailable` once `retryFor` has passed or when
 * `maxQueued` events already wait. A waiting progress event (`active` after `active`) is
 * replaced by a newer one of the same job, and both calls resolve with the outcome of the one
 * sent; other events are never merged or dropped. A publish whose reply was lost is sent again
 * (the publish script answers a resent event with its first outcome).
 */
export interface Publisher {
  /** The job waits to run. */
  queued(id: string, fields?: EventFields): Promise<PublishOutcome>
  /** The job runs. */
  active(id: string, fields?: EventFields): Promise<PublishOutcome>
  /** The job runs and is `percent` (0–100) done. */
  progress(id: string, percent: number, fields?: EventFields): Promise<PublishOutcome>
  /** The job succeeded (terminal). */
  complete(id: string, result?: Record<string, unknown>, fields?: EventFields): Promise<PublishOutcome>
  /** The job failed (terminal). */
  fail(id: string, error: string | JobError | Error, fields?: EventFields): Promise<PublishOutcome>
  /** The job was cancelled (terminal). */
  cancel(id: string, fields?: EventFields): Promise<PublishOutcome>
  /** Publishes any event. */
  publish(event: JobEventInput): Promise<PublishOutcome>
  /** Resolves when no event waits or is being sent (whatever their outcome). */
  flush(): Promise<void>
  /**
   * Refuses new calls, waits up to `closeTimeout` for queued events to be sent, rejects what is
   * left (`bus_unavailable`), then closes the connections this publisher opened (not a given
   * `bus` or `redis`). Safe to call twice: returns the same promise.
   */
  close(): Promise<void>
}

function toJobError(error: string | JobError | Error): JobError {
  if (typeof error === 'string') return { message: error }
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code
    return typeof code === 'string' ? { message: error.message, code } : { message: error.message }
  }
  if (typeof error === 'object' && error !== null) return error
  throw new ValidationError('invalid_event', 'fail() needs an error: a string, an Error or {message, code?}')
}

/**
 * Creates a publisher.
 * @example
 * const jobs = createPublisher({ url: process.env.JOBCAST_REDIS_URL })
 * await jobs.progress('export-42', 40, { data: { processed: 400, total: 1000 } })
 * await jobs.complete('export-42', { downloadUrl })
 */
export function createPublisher(options: PublisherOptions = {}): Publisher {
  const owned = !options.bus
  const bus: Bus =
    options.bus ??
    createRedisBus({
      ...(options.redis ? { redis: options.redis } : { connection: publisherRedis(options) }),
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}),
      lazySubscriber: true,
      // The queue keeps one publish per job in flight, so resending a lost one cannot reorder a job.
      resendLostReplies: true,
    })
  const queue = new PublishQueue(bus, {
    retryFor: positive(options.retryFor, 60_000, 'retryFor'),
    maxQueued: positive(options.maxQueued, 10_000, 'maxQueued'),
    restoreWindow: positive(options.restoreWindow, 3_600_000, 'restoreWindow', true),
    maxRemembered: positive(options.maxRemembered, 10_000, 'maxRemembered', true),
  })
  const closeTimeout = positive(options.closeTimeout, 5000, 'closeTimeout', true)
  let closing: Promise<void> | undefined
  const publish = async (event: JobEventInput): Promise<PublishOutcome> => {
    // Normalized once, here: `ts` is fixed at the call, so a resent event is byte-identical.
    const normalized = normalizeEventInput(event)
    eventInputJson(normalized)
    return queue.publish(normalized)
  }
  return {
    publish,
    queued: (id, fields) => publish({ ...fields, id, status: 'queued' }),
    active: (id, fields) => publish({ ...fields, id, status: 'active' }),
    progress: (id, percent, fields) => publish({ ...fields, id, status: 'active', progress: percent }),
    complete: (id, result, fields) => publish({ progress: 100, ...fields, id, status: 'completed', ...(result ? { result } : {}) }),
    fail: (id, error, fields) => publish({ ...fields, id, status: 'failed', error: toJobError(error) }),
    cancel: (id, fields) => publish({ ...fields, id, status: 'cancelled' }),
    flush: () => queue.flush(),
    close: () =>
      (closing ??= queue.close(closeTimeout).then(async () => {
        if (owned) await bus.close()
      })),
  }
}

/** The Redis of `options` (one URL, a cluster or sentinels), checked; a local Redis when none is named. */
function publisherRedis(options: PublisherOptions): RedisConnectionSettings {
  const { url, cluster, sentinels, sentinelName, sentinelPassword, username, password, tls } = options
  const named = url !== undefined || (cluster?.length ?? 0) > 0 || (sentinels?.length ?? 0) > 0
  // Never undefined: a URL is always given.
  return checkRedisSettings({ url: named ? url : 'redis://127.0.0.1:6379', cluster, sentinels, sentinelName, sentinelPassword, username, password, tls }) as RedisConnectionSettings
}

/** An option that must be a number > 0 (or ≥ 0 when `zeroAllowed`), or its default. */
function positive(value: number | undefined, fallback: number, name: string, zeroAllowed = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new JobcastError('invalid_config', `${name} must be a number ${zeroAllowed ? '≥ 0' : '> 0'}: leave it out for the default (${fallback})`)
  }
  return value
}
