/**
 * The BullMQ bridge: publishes jobcast events for BullMQ jobs from BullMQ's own event streams,
 * so workers stay unchanged. It needs no `bullmq` package: it reads the Redis streams BullMQ's
 * scripts write. See docs/bullmq.md.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Bus } from '../bus/bus.js'
import { DEFAULT_PREFIX } from '../bus/keys.js'
import { JobcastError } from '../errors.js'
import { createPublisher, type Publisher } from '../publisher.js'
import { bullmqJobIdFunction, type BullmqJobId } from './job-id.js'
import { DEFAULT_BULL_PREFIX } from './keys.js'
import { QueueFollower } from './queue-follower.js'

/** Options of {@link createBullmqBridge}. Give `redis` or `url`: the Redis BullMQ uses. */
export interface BullmqBridgeOptions {
  /** A connection to BullMQ's Redis. Not closed by `close()`; each queue gets a `duplicate()` of it for its blocking reads. */
  redis?: Redis
  /** URL of BullMQ's Redis. @default "redis://127.0.0.1:6379" (when `redis` is not given) */
  url?: string
  /** Names of the BullMQ queues to follow. */
  queues: readonly string[]
  /** BullMQ's key prefix (its `prefix` option). @default "bull" */
  bullPrefix?: string
  /**
   * The jobcast job id of a BullMQ job: a template where `{queue}` and `{id}` stand for the
   * queue and the BullMQ job id, or a function of both. An id that is not a valid jobcast id
   * is logged and its job's events are not published.
   * @default "{queue}:{id}"
   * @example jobId: (queue, id) => `${queue}-${id}`
   */
  jobId?: BullmqJobId
  /**
   * Where events are published. Not closed by `close()`.
   * @default a publisher on `bus` if given, else on the same Redis, with `prefix`
   */
  publisher?: Publisher
  /** A jobcast bus to publish on (a gateway's), when no `publisher` is given. Not closed by `close()`. */
  bus?: Bus
  /** jobcast's key prefix: where the published jobs and the bridge's own keys (cursor, lease) live. @default "jobcast:" */
  prefix?: string
  /**
   * Where a queue starts when no bridge followed it before (no saved cursor): `oldest` also
   * publishes the events BullMQ still keeps, so pages of jobs added earlier learn their state;
   * `newest` publishes only what happens from now on.
   * @default "oldest"
   */
  startAt?: 'oldest' | 'newest'
  /**
   * How long a queue's lease lasts without renewal, in ms: a standby bridge takes the queue
   * over once it lapses after the bridge following it died (it tries every third of its own
   * `leaseMs`). Renewed every third of it.
   * @default 15000
   */
  leaseMs?: number
  /** Longest a read waits for new entries (XREAD BLOCK), in ms. @default 5000 */
  blockMs?: number
  /** Most stream entries read at once. @default 500 */
  batchSize?: number
  /** Delay before trying again after Redis failed a read or a publish, in ms. @default 1000 */
  retryDelayMs?: number
  /**
   * Where problems are reported (Redis errors, invalid job ids, trimmed events, a lost lease).
   * @default console.warn
   */
  log?: (message: string) => void
}

/** The `bullmq` option of `createGateway`: the bridge publishes on the gateway's bus, under its prefix. */
export type GatewayBullmqOptions = Omit<BullmqBridgeOptions, 'publisher' | 'bus' | 'prefix'>

/** A running bridge, from {@link createBullmqBridge}. */
export interface BullmqBridge {
  /** The queues given. */
  readonly queues: readonly string[]
  /** The queues this bridge follows now: those whose lease it holds (the others wait on another bridge). */
  following(): string[]
  /**
   * Stops following and releases the leases, so a standby bridge takes over at once. Events
   * already handed to a publisher the bridge opened are sent within its `closeTimeout` (5 s);
   * whatever was not saved as handled is sent by the next bridge. Then closes the connections
   * it opened. Safe to call twice: returns the same promise.
   */
  close(): Promise<void>
}

/**
 * Starts a bridge from BullMQ queues to jobcast.
 * @throws JobcastError `invalid_config` for no queues, a bad option or a `jobId` template without `{id}`
 * @example
 * const bridge = createBullmqBridge({ url: process.env.REDIS_URL, queues: ['emails', 'exports'] })
 * // a page: waitForJob(`exports:${job.id}`, { url: gatewayUrl })
 * await bridge.close()
 */
export function createBullmqBridge(options: BullmqBridgeOptions): BullmqBridge {
  const queues = [...new Set(options.queues)]
  if (queues.length === 0 || queues.some((queue) => typeof queue !== 'string' || queue === '')) {
    throw new JobcastError('invalid_config', 'createBullmqBridge() needs queues: the names of your BullMQ queues, e.g. queues: ["emails"]')
  }
  const settings = {
    bullPrefix: options.bullPrefix ?? DEFAULT_BULL_PREFIX,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    toJobId: bullmqJobIdFunction(options.jobId),
    startAt: options.startAt ?? 'oldest',
    leaseMs: positive(options.leaseMs, 15_000, 'leaseMs'),
    blockMs: positive(options.blockMs, 5_000, 'blockMs'),
    batchSize: positive(options.batchSize, 500, 'batchSize'),
    retryDelayMs: positive(options.retryDelayMs, 1_000, 'retryDelayMs'),
    owner: randomBytes(12).toString('hex'),
    log: options.log ?? ((message: string) => console.warn(message)),
  }
  if (settings.startAt !== 'oldest' && settings.startAt !== 'newest') {
    throw new JobcastError('invalid_config', `startAt must be "oldest" or "newest", not ${JSON.stringify(settings.startAt)}`)
  }
  const ownsRedis = options.redis === undefined
  const command = options.redis ?? listened(new Redis(options.url ?? 'redis://127.0.0.1:6379'))
  const ownsPublisher = options.publisher === undefined
  const publisher = options.publisher ?? createPublisher(options.bus ? { bus: options.bus } : { redis: command, prefix: settings.prefix })
  const followers = queues.map((queue) => new QueueFollower(command, listened(command.duplicate()), publisher, { ...settings, queue }))
  let closing: Promise<void> | undefined
  return {
    queues,
    following: () => queues.filter((_, index) => followers[index]!.following),
    close: () =>
      (closing ??= (async () => {
        // Together: closing the publisher bounds a batch waiting for Redis by its closeTimeout,
        // and what it refuses was not saved as handled, so the next bridge sends it.
        await Promise.all([...followers.map((follower) => follower.stop()), ownsPublisher ? publisher.close() : undefined])
        if (ownsRedis) command.disconnect()
      })()),
  }
}

/** A connection with an `error` listener: the followers report failures themselves, once. */
function listened(redis: Redis): Redis {
  redis.on('error', () => undefined)
  return redis
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new JobcastError('invalid_config', `${name} must be a number > 0: leave it out for the default (${fallback})`)
  }
  return value
}
