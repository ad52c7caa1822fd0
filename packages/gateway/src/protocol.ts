/**
 * The jobcast wire contract: the job event model, id rules and error codes shared by
 * the bus, the publisher and every transport. Pure: no I/O. See docs/protocol.md.
 */

/** A job's lifecycle status. `completed`, `failed` and `cancelled` are terminal. */
export type JobStatus = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled'

/** Every status, in lifecycle order. */
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'active', 'completed', 'failed', 'cancelled']

/** Statuses after which a job accepts no further event. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled']

/** The error a producer attaches to a `failed` event. */
export interface JobError {
  message: string
  code?: string
}

/**
 * One job event, as stored in the snapshot key, published on the job's channel and
 * sent to clients. `seq` is assigned by the publish script and strictly increases per job.
 */
export interface JobEvent {
  /** Job id: 1–128 chars of `[A-Za-z0-9._:@-]`. */
  id: string
  /**
   * Strictly increasing per job, assigned at publish. Not consecutive: it is at least the
   * Redis server clock in microseconds, so it keeps increasing even when Redis loses the
   * snapshot (restart without persistence, failover).
   */
  seq: number
  status: JobStatus
  /** Percent done, 0–100. */
  progress?: number
  /** Human-readable status line. */
  message?: string
  /** Producer-defined details, e.g. `{ processed, total }`. */
  data?: Record<string, unknown>
  /** On `completed`: the job's result, e.g. `{ downloadUrl }`. */
  result?: Record<string, unknown>
  /** On `failed`: what went wrong. */
  error?: JobError
  /** Milliseconds since the epoch, set by the publisher. */
  ts: number
}

/** What a producer hands to `publish`: an event without `seq` (the bus assigns it); `ts` defaults to now. */
export type JobEventInput = Omit<JobEvent, 'seq' | 'ts'> & { ts?: number }

/** Longest accepted job id. */
export const MAX_JOB_ID_LENGTH = 128

/** The job id grammar. Braces are excluded on purpose: the id becomes a Redis Cluster hash tag. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/

/** What to do about an invalid job id: the advice of every `invalid_job_id` answer to a client. */
export const JOB_ID_RULE = 'use 1–128 characters of A-Z a-z 0-9 . _ : @ -'

/** Is `id` a syntactically valid job id? */
export function isValidJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID_PATTERN.test(id)
}

/** Is `status` one of the terminal statuses? */
export function isTerminalStatus(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled'
}

/** Is this event the last one its job will ever have? */
export function isTerminal(event: Pick<JobEvent, 'status'>): boolean {
  return isTerminalStatus(event.status)
}

/**
 * Stable error codes, used in HTTP error bodies (`{"error":{"code","message"}}`),
 * WebSocket `error` frames and thrown errors alike.
 */
export type ErrorCode =
  | 'invalid_job_id'
  | 'invalid_event'
  | 'job_not_found'
  | 'job_terminal'
  | 'not_found'
  | 'method_not_allowed'
  | 'unauthorized'
  | 'forbidden'
  | 'token_expired'
  | 'bad_frame'
  | 'bad_cursor'
  | 'frame_too_large'
  | 'too_many_subscriptions'
  | 'too_many_connections'
  | 'too_many_jobs'
  | 'rate_limited'
  | 'slow_consumer'
  | 'bus_unavailable'
  | 'shutting_down'
  | 'internal'
  | 'bad_request'
  /** Thrown by the library for unusable options (never sent on the wire). */
  | 'invalid_config'
