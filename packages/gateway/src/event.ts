/**
 * Pure validation of job events: producer input (throws typed errors) and messages read back
 * from the bus (never throws: a malformed message is `null`). No I/O, no clocks except the
 * `ts` default. See docs/protocol.md, "Event".
 */
import type { BusEvent } from './bus/bus.js'
import { ValidationError } from './errors.js'
import { JOB_STATUSES, isValidJobId, type JobError, type JobEvent, type JobEventInput, type JobStatus } from './protocol.js'

/** Largest event JSON accepted from the bus or a producer, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

/** A validated producer event: only known fields, in wire order, with `ts` set. */
export type NormalizedEventInput = JobEventInput & { ts: number }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function invalid(message: string, id?: string): never {
  throw new ValidationError('invalid_event', `${message}; see docs/protocol.md "Event"`, id === undefined ? {} : { jobId: id })
}

/** Throws `ValidationError` (`invalid_job_id`) unless `id` matches the job id grammar. */
export function assertJobId(id: unknown): asserts id is string {
  if (!isValidJobId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id) : typeof id
    throw new ValidationError('invalid_job_id', `invalid job id ${shown}: use 1–128 chars of [A-Za-z0-9._:@-]`)
  }
}

function checkError(value: unknown, id: string): JobError {
  if (!isPlainObject(value) || typeof value.message !== 'string') invalid('"error" must be an object {message: string, code?: string}', id)
  if (value.code !== undefined && typeof value.code !== 'string') invalid('"error.code" must be a string', id)
  return value.code === undefined ? { message: value.message } : { message: value.message, code: value.code }
}

/**
 * Validates and normalizes a producer event. Keeps only known fields, in wire order, and sets
 * `ts` to `now` when absent.
 * @throws ValidationError `invalid_job_id` for a bad id, `invalid_event` for anything else
 */
export function normalizeEventInput(input: unknown, now: number = Date.now()): NormalizedEventInput {
  if (!isPlainObject(input)) invalid('an event must be a plain object')
  assertJobId(input.id)
  const id = input.id
  const status = input.status
  if (typeof status !== 'string' || !(JOB_STATUSES as readonly string[]).includes(status)) {
    invalid(`"status" must be one of ${JOB_STATUSES.join(', ')}`, id)
  }
  const out: NormalizedEventInput = { id, status: status as JobStatus, ts: now }
  if (input.progress !== undefined) {
    const p = input.progress
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) invalid('"progress" must be a finite number from 0 to 100', id)
    out.progress = p
  }
  if (input.message !== undefined) {
    if (typeof input.message !== 'string') invalid('"message" must be a string', id)
    out.message = input.message
  }
  if (input.data !== undefined) {
    if (!isPlainObject(input.data)) invalid('"data" must be a plain object', id)
    out.data = input.data
  }
  if (input.result !== undefined) {
    if (!isPlainObject(input.result)) invalid('"result" must be a plain object', id)
    out.result = input.result
  }
  if (input.error !== undefined) out.error = checkError(input.error, id)
  else if (status === 'failed') invalid('a "failed" event needs "error": {message, code?}', id)
  if (input.ts !== undefined) {
    if (typeof input.ts !== 'number' || !Number.isFinite(input.ts) || input.ts < 0) invalid('"ts" must be milliseconds since the epoch', id)
    out.ts = input.ts
  }
  // Re-order so the stored JSON reads id, status, …, ts whatever order the caller used.
  const { ts, ...rest } = out
  return { ...rest, ts }
}

/**
 * The JSON text a producer hands to the publish script (ARGV[1]): the normalized event
 * without `seq`.
 * @throws ValidationError `invalid_event` when it cannot be serialized or exceeds `maxBytes`
 */
export function eventInputJson(input: NormalizedEventInput, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): string {
  let json: string
  try {
    json = JSON.stringify(input)
  } catch (cause) {
    throw new ValidationError('invalid_event', `event of job ${input.id} cannot be serialized as JSON: ${String(cause)}`, { jobId: input.id, cause })
  }
  if (byteLengthOver(json, maxBytes - 30)) {
    invalid(`event is larger than ${maxBytes} bytes: keep big payloads elsewhere and send a link`, input.id)
  }
  return json
}

/** Builds the stored event text exactly as the publish script does. */
export function withSeq(seq: number, inputJson: string): string {
  return `{"seq":${seq},${inputJson.slice(1)}`
}

function byteLengthOver(text: string, max: number): boolean {
  if (text.length > max) return true
  if (text.length * 3 <= max) return false
  return Buffer.byteLength(text, 'utf8') > max
}

function isJobStatus(status: unknown): boolean {
  return status === 'active' || status === 'queued' || status === 'completed' || status === 'failed' || status === 'cancelled'
}

function isValidStoredEvent(value: Record<string, unknown>, expectedId: string | undefined): boolean {
  const { seq, ts, status } = value
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return false
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return false
  // An expected id is already valid: equality is the whole check (no regex per message).
  if (expectedId !== undefined ? value.id !== expectedId : !isValidJobId(value.id)) return false
  if (!isJobStatus(status)) return false
  const p = value.progress
  if (p !== undefined && (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100)) return false
  if (value.message !== undefined && typeof value.message !== 'string') return false
  if (value.data !== undefined && !isPlainObject(value.data)) return false
  if (value.result !== undefined && !isPlainObject(value.result)) return false
  const e = value.error
  if (e !== undefined && (!isPlainObject(e) || typeof e.message !== 'string' || (e.code !== undefined && typeof e.code !== 'string'))) return false
  return true
}

/**
 * Parses and validates one message read from the bus (a published event or a snapshot).
 * Never throws: returns `null` for anything malformed, oversized, or about another job.
 * @param json - the raw text from Redis
 * @param expectedId - when given (a valid job id), the event's `id` must equal it
 * @param maxBytes - larger messages are rejected @default 65536
 */
export function parseBusMessage(json: string, expectedId?: string, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): BusEvent | null {
  if (typeof json !== 'string' || byteLengthOver(json, maxBytes)) return null
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return null
  }
  if (!isPlainObject(value) || !isValidStoredEvent(value, expectedId)) return null
  return { event: value as unknown as JobEvent, json }
}

/**
 * Per-consumer ordering gate: accepts a seq only when it is greater than every seq accepted
 * before, so each event passes at most once and in increasing order.
 */
export class SeqGate {
  /** Highest seq accepted so far (`0` = none). */
  last: number
  /** @param since - seqs up to and including this are treated as already seen @default 0 */
  constructor(since = 0) {
    this.last = since
  }

  /** Records `seq` and returns true when it is new; false for a duplicate or an older event. */
  accept(seq: number): boolean {
    if (seq <= this.last) return false
    this.last = seq
    return true
  }
}
