/**
 * The Node publisher: what a worker calls to report a job's progress. Also the
 * `@jobcast/gateway/publisher` entry point, so it must stay free of HTTP and WebSocket code.
 * Works against Redis (`url` or `redis`) and against an in-process bus (`bus`).
 */
import type { Redis } from 'ioredis'
import type { Bus, PublishOutcome } from './bus/bus.js'
import { createRedisBus } from './bus/redis-bus.js'
import { ValidationError } from './errors.js'
import type { JobError, JobEventInput } from './protocol.js'

export type { PublishOutcome } from './bus/bus.js'

/** Options of {@link createPublisher}. Give one of `bus`, `redis` or `url`. */
export interface PublisherOptions {
  /** A bus to publish on, e.g. the gateway's embedded `MemoryBus`. Not closed by `close()`. */
  bus?: Bus
  /** An existing Redis connection. Not closed by `close()`. */
  redis?: Redis
  /** Redis URL to connect to. @default "redis://127.0.0.1:6379" (when neither `bus` nor `redis` is given) */
  url?: string
  /** Key and channel prefix; must match the gateway's. Ignored with `bus`. @default "jobcast:" */
  prefix?: string
  /** Snapshot time to live, in seconds. Ignored with `bus`. @default 86400 */
  ttlSeconds?: number
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
 * a terminal one is refused (`published: false`), not thrown. Invalid input throws
 * `ValidationError` (`invalid_job_id`, `invalid_event`).
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
  /** Closes the connections this publisher opened (not a given `bus` or `redis`). Safe to call twice. */
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
      ...(options.redis ? { redis: options.redis } : { url: options.url ?? 'redis://127.0.0.1:6379' }),
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}),
      lazySubscriber: true,
    })
  let closing: Promise<void> | undefined
  const publish = (event: JobEventInput) => bus.publish(event)
  return {
    publish,
    queued: (id, fields) => publish({ ...fields, id, status: 'queued' }),
    active: (id, fields) => publish({ ...fields, id, status: 'active' }),
    progress: (id, percent, fields) => publish({ ...fields, id, status: 'active', progress: percent }),
    complete: (id, result, fields) => publish({ progress: 100, ...fields, id, status: 'completed', ...(result ? { result } : {}) }),
    fail: (id, error, fields) => publish({ ...fields, id, status: 'failed', error: toJobError(error) }),
    cancel: (id, fields) => publish({ ...fields, id, status: 'cancelled' }),
    close: () => (closing ??= owned ? bus.close() : Promise.resolve()),
  }
}
