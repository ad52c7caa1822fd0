/**
 * What one entry of BullMQ's event stream means for jobcast: pure, no Redis. The entries are
 * the ones BullMQ's Lua scripts write (`XADD <prefix>:<queue>:events * event <name> jobId <id> …`);
 * docs/bullmq.md lists the mapping.
 */
import type { JobEventInput, JobStatus } from '../protocol.js'
import { streamIdTime } from './stream-id.js'

/** One stream entry: its id (`<ms>-<n>`) and its field/value pairs. */
export interface BullmqStreamEntry {
  readonly id: string
  readonly fields: Readonly<Record<string, string>>
}

/** A job's attempts, read from its hash (`atm`, and `attempts` in `opts`) when an entry asks for them. */
export interface BullmqAttempts {
  /** Attempts made so far (BullMQ's `attemptsMade`). */
  readonly attemptsMade: number
  /** Attempts allowed (the job's `opts.attempts`), when set. */
  readonly attempts?: number
}

/** A jobcast event for a BullMQ job, before the jobcast id is known. */
export interface BridgedEvent {
  /** The BullMQ job id. */
  readonly bullmqId: string
  /** The event without `id`; `ts` is the entry's time, so the same entry always gives the same event. */
  readonly event: Omit<JobEventInput, 'id'> & { ts: number }
}

/** States after which a BullMQ `removed` says nothing new: jobcast already holds the end. */
const FINISHED_STATES: ReadonlySet<string> = new Set(['completed', 'failed'])

/**
 * Does this entry need the job's attempts to be mapped? Only a move back to waiting: BullMQ
 * writes `waiting` with `prev: active` (retry without backoff) or `delayed` (retry with backoff)
 * for an attempt that failed and will run again, and never a `failed` entry for it.
 */
export function wantsAttempts(entry: BullmqStreamEntry): boolean {
  const name = entry.fields.event
  return (name === 'waiting' && entry.fields.prev === 'active') || name === 'delayed'
}

/**
 * Maps one stream entry to a jobcast event, or `null` for entries about no job or no change of
 * its state (`added`, which BullMQ always follows with `waiting`/`delayed`/`waiting-children`
 * in the same script; `drained`, `paused`, `retries-exhausted`, `deduplicated`, …).
 * @param attempts - the job's attempts, for an entry {@link wantsAttempts} says needs them
 */
export function mapBullmqEntry(entry: BullmqStreamEntry, attempts?: BullmqAttempts): BridgedEvent | null {
  const { event: name, jobId: bullmqId } = entry.fields
  if (!bullmqId) return null
  const ts = streamIdTime(entry.id)
  const make = (status: JobStatus, fields: Omit<JobEventInput, 'id' | 'status' | 'ts'> = {}): BridgedEvent => ({
    bullmqId,
    event: { status, ...fields, ts },
  })
  switch (name) {
    case 'waiting':
    case 'delayed':
    case 'waiting-children': {
      const data: Record<string, unknown> = {}
      if (name === 'delayed') data.delayedUntil = Number(entry.fields.delay)
      if (name === 'waiting-children') data.waitingChildren = true
      if (attempts && attempts.attemptsMade > 0) {
        data.attemptsMade = attempts.attemptsMade
        if (attempts.attempts !== undefined) data.attempts = attempts.attempts
      }
      return make('queued', Object.keys(data).length > 0 ? { data } : {})
    }
    case 'active':
      return make('active')
    case 'stalled':
      // BullMQ moved the job back to wait because its worker stopped renewing the lock; until
      // jobcast has a stalled state of its own, the page sees an active job marked stalled.
      return make('active', { data: { stalled: true } })
    case 'progress':
      return make('active', progressFields(parseJson(entry.fields.data)))
    case 'completed':
      return make('completed', { progress: 100, ...resultField(parseJson(entry.fields.returnvalue)) })
    case 'failed':
      return make('failed', { error: { message: entry.fields.failedReason || 'the job failed (BullMQ gave no reason)' } })
    case 'removed':
      return FINISHED_STATES.has(entry.fields.prev ?? '') ? null : make('cancelled')
    default:
      return null
  }
}

/** Attempts from a job hash's `atm` and `opts` fields (as HMGET returns them), or undefined. */
export function parseAttempts(attemptsMade: string | null, opts: string | null): BullmqAttempts | undefined {
  const made = Number(attemptsMade ?? 'NaN')
  if (!Number.isSafeInteger(made)) return undefined
  const allowed = (parseJson(opts ?? '') as { attempts?: unknown } | undefined)?.attempts
  return typeof allowed === 'number' ? { attemptsMade: made, attempts: allowed } : { attemptsMade: made }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isPercent(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 100
}

/**
 * `job.updateProgress(value)`: a percent, or an object whose `progress` (a percent) and
 * `message` (a string) become those fields; whatever else it holds goes in `data`.
 */
function progressFields(value: unknown): Pick<JobEventInput, 'progress' | 'message' | 'data'> {
  if (isPercent(value)) return { progress: value }
  if (!isPlainObject(value)) return value === undefined ? {} : { data: { progress: value } }
  const { progress, message, ...rest } = value
  const data = { ...rest }
  if (progress !== undefined && !isPercent(progress)) data.progress = progress
  if (message !== undefined && typeof message !== 'string') data.message = message
  return {
    ...(isPercent(progress) ? { progress } : {}),
    ...(typeof message === 'string' ? { message } : {}),
    ...(Object.keys(data).length > 0 ? { data } : {}),
  }
}

/** A processor's return value: an object is the `result`; anything else is wrapped as `{ value }`. */
function resultField(value: unknown): Pick<JobEventInput, 'result'> {
  if (value === undefined || value === null) return {}
  return { result: isPlainObject(value) ? value : { value } }
}
