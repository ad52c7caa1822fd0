/**
 * The gateway's wire contract as the client sees it (docs/protocol.md). Types only: nothing
 * here reaches the bundle.
 */

/** A job's lifecycle status. `completed`, `failed` and `cancelled` are terminal. */
export type JobStatus = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled'

/** The error a producer attaches to a `failed` event. */
export interface JobError {
  message: string
  code?: string
}

/**
 * One job event. `seq` strictly increases per job but is not consecutive: compare it, never
 * assume `+1`.
 */
export interface JobEvent<R = Record<string, unknown>> {
  seq: number
  id: string
  status: JobStatus
  /** Percent done, 0–100. */
  progress?: number
  message?: string
  data?: Record<string, unknown>
  /** On `completed`: what the job produced, e.g. `{ downloadUrl }`. */
  result?: R
  /** On `failed`: what went wrong. */
  error?: JobError
  /** Milliseconds since the epoch, set by the producer. */
  ts: number
}

/** `{"error":{"code","message"}}`: every HTTP error body of the gateway. */
export interface ErrorBody {
  error: { code: string; message: string }
}

/** Frames the client sends on `/v1/ws`. */
export type ClientFrame =
  | { type: 'subscribe'; id: string; since?: number; token?: string }
  | { type: 'unsubscribe'; id: string }
  | { type: 'ping' }

/** Frames the gateway sends on `/v1/ws`. */
export type ServerFrame =
  | { type: 'subscribed'; id: string; exists: boolean }
  | { type: 'job'; job: JobEvent }
  | { type: 'unsubscribed'; id: string }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'pong' }

/** Data of the SSE `event: subscribed` frame. */
export interface SubscribedData {
  id: string
  exists: boolean
}
