/**
 * Pure validation of job events, by the rules of docs/protocol.md "Event": producer input
 * (throws typed errors) and messages read back from the bus (never throws: a malformed message
 * is `null`, counted and logged). The publish script applies the same rules in Lua, with the
 * same codes and texts (the conformance table in test/conformance checks both).
 */
import type { BusEvent } from './bus/bus.js'
import { droppedBusMessages, type DroppedMessages } from './bus/dropped-messages.js'
import { ValidationError } from './errors.js'
import { isValidJobId, JOB_ID_RULE, type JobError, type JobEvent, type JobEventInput, type JobStatus } from './protocol.js'

/** Largest event JSON accepted from the bus or a producer, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

/** Room for the `"seq":N,` the publish script adds to a producer's text, in bytes. */
const SEQ_ROOM_BYTES = 30

/** A validated producer event: only known fields, in wire order, with `ts` set. */
export type NormalizedEventInput = JobEventInput & { ts: number }

/** What is wrong with an event: the stable code, the field at fault (or `event`) and the rule it breaks. */
export interface EventProblem {
  readonly code: 'invalid_event' | 'invalid_job_id'
  /** `event` for the whole event, else the field, e.g. `progress`. */
  readonly field: string
  /** The rule, worded as the publish script words it, e.g. `must be a number 0–100`. */
  readonly problem: string
}

/** The fields of an event after `seq`, in wire order. */
const EVENT_FIELDS: ReadonlySet<string> = new Set(['id', 'status', 'progress', 'message', 'data', 'result', 'error', 'ts'])

const ERROR_SHAPE = 'must be {message: string, code?: string}'

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function isStatus(status: unknown): status is JobStatus {
  return status === 'queued' || status === 'active' || status === 'completed' || status === 'failed' || status === 'cancelled'
}

function invalidEvent(field: string, problem: string): EventProblem {
  return { code: 'invalid_event', field, problem }
}

function isJobError(value: unknown): value is JobError {
  if (!isPlainObject(value) || typeof value.message !== 'string') return false
  if (value.code !== undefined && typeof value.code !== 'string') return false
  return Object.keys(value).every((name) => name === 'message' || name === 'code' || value[name] === undefined)
}

/**
 * The first rule broken by the fields after `id`, in the publish script's order. A field whose
 * value is `undefined` is absent (JSON has no `undefined`).
 */
function fieldProblem(value: Record<string, unknown>): EventProblem | undefined {
  if (!isStatus(value.status)) return invalidEvent('status', 'must be one of queued, active, completed, failed, cancelled')
  const progress = value.progress
  if (progress !== undefined && (typeof progress !== 'number' || !(progress >= 0 && progress <= 100))) return invalidEvent('progress', 'must be a number 0–100')
  if (value.message !== undefined && typeof value.message !== 'string') return invalidEvent('message', 'must be a string')
  if (value.data !== undefined && !isPlainObject(value.data)) return invalidEvent('data', 'must be an object')
  if (value.result !== undefined && !isPlainObject(value.result)) return invalidEvent('result', 'must be an object')
  if (value.error !== undefined) {
    if (!isJobError(value.error)) return invalidEvent('error', ERROR_SHAPE)
  } else if (value.status === 'failed') {
    return invalidEvent('error', 'is required on failed: {message: string, code?: string}')
  }
  const ts = value.ts
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) return invalidEvent('ts', 'must be milliseconds since the epoch (a number ≥ 0)')
  return undefined
}

function idProblem(id: unknown, expectedId: string | undefined): EventProblem | undefined {
  // An expected id is already valid: equality is the whole check (no regex per message).
  if (expectedId !== undefined) return id === expectedId ? undefined : invalidEvent('id', `must equal the job id ${JSON.stringify(expectedId)}`)
  return isValidJobId(id) ? undefined : { code: 'invalid_job_id', field: 'id', problem: 'must be 1–128 characters of [A-Za-z0-9._:@-]' }
}

function unknownField(name: string): EventProblem {
  return invalidEvent(name, 'is not an event field: put your own fields in data (seq is set by the publish script)')
}

function sizeProblem(maxBytes: number): EventProblem {
  return invalidEvent('event', `is larger than ${maxBytes} bytes: keep big payloads elsewhere and send a link`)
}

/** The event with its known fields only, in wire order (`seq` first when given). */
function canonical<T extends NormalizedEventInput | JobEvent>(value: Record<string, unknown>, seq?: number): T {
  const out: Record<string, unknown> = seq === undefined ? {} : { seq }
  for (const name of EVENT_FIELDS) {
    const field = value[name]
    if (field === undefined) continue
    if (name === 'error') {
      const { message, code } = field as JobError
      out.error = code === undefined ? { message } : { message, code }
    } else out[name] = field
  }
  return out as T
}

function throwProblem(problem: EventProblem, jobId: unknown): never {
  const job = isValidJobId(jobId) ? ` (job ${jobId})` : ''
  throw new ValidationError(problem.code, `${problem.code}: ${problem.field} ${problem.problem}${job}; see docs/protocol.md "Event"`, {
    ...(isValidJobId(jobId) ? { jobId } : {}),
    field: problem.field,
  })
}

/** Throws `ValidationError` (`invalid_job_id`) unless `id` matches the job id grammar. */
export function assertJobId(id: unknown): asserts id is string {
  if (!isValidJobId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id) : typeof id
    throw new ValidationError('invalid_job_id', `invalid job id ${shown}: ${JOB_ID_RULE}`, { field: 'id' })
  }
}

/**
 * Validates and normalizes a producer event by the publish script's rules, in its order. Keeps
 * the known fields in wire order and sets `ts` to `now` when absent.
 * @param now - the default `ts`, in ms since the epoch @default Date.now()
 * @throws ValidationError `invalid_job_id` for a bad id, `invalid_event` (with `field`) for anything else
 */
export function normalizeEventInput(input: unknown, now: number = Date.now()): NormalizedEventInput {
  if (!isPlainObject(input)) throwProblem(invalidEvent('event', 'must be a JSON object'), undefined)
  const unknown = Object.keys(input).find((name) => !EVENT_FIELDS.has(name) && input[name] !== undefined)
  if (unknown !== undefined) throwProblem(unknownField(unknown), input.id)
  assertJobId(input.id)
  const value = input.ts === undefined ? { ...input, ts: now } : input
  const problem = fieldProblem(value)
  if (problem) throwProblem(problem, input.id)
  return canonical<NormalizedEventInput>(value)
}

/**
 * Validates an event sent as JSON text for job `jobId` (HTTP ingest) by the publish script's
 * rules for its ARGV[1]: any layout, `ts` required (no default), `id` equal to `jobId`. A
 * duplicate top-level field is the one rule it cannot see: `JSON.parse` keeps the last value,
 * which is then the only one published.
 * @throws ValidationError `invalid_event` (with `field`) or `invalid_job_id`
 */
export function normalizeEventText(text: string, jobId: string): NormalizedEventInput {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throwProblem(invalidEvent('event', `is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`), jobId)
  }
  if (isPlainObject(value)) {
    const unknown = Object.keys(value).find((name) => !EVENT_FIELDS.has(name))
    const problem =
      (unknown === undefined ? undefined : unknownField(unknown)) ??
      idProblem(value.id, jobId) ??
      (value.ts === undefined ? fieldProblem(value) : undefined)
    if (problem) throwProblem(problem, jobId)
  }
  return normalizeEventInput(value)
}

/**
 * The JSON text a producer hands to the publish script (ARGV[1]): the normalized event
 * without `seq`.
 * @param maxBytes - largest stored event, in bytes @default 65536
 * @throws ValidationError `invalid_event` when it cannot be serialized or exceeds `maxBytes`
 */
export function eventInputJson(input: NormalizedEventInput, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): string {
  let json: string
  try {
    json = JSON.stringify(input)
  } catch (cause) {
    throw new ValidationError('invalid_event', `invalid_event: event cannot be serialized as JSON (job ${input.id}): ${String(cause)}`, {
      jobId: input.id,
      field: 'event',
      cause,
    })
  }
  if (byteLengthOver(json, maxBytes - SEQ_ROOM_BYTES)) throwProblem(sizeProblem(maxBytes), input.id)
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

/** The drop reason of a problem found in a bus message (see {@link DroppedMessages}). */
function dropReason(problem: EventProblem): string {
  return problem.field === 'id' && problem.code === 'invalid_event' ? 'wrong_job' : `bad_${problem.field}`
}

/**
 * Parses and validates one message read from the bus (a published event or a snapshot) by
 * the rules producers are held to. Returns the event with its known fields in wire order and
 * that event's own JSON: never the original text, so a duplicate key (`"id":"other","id":"x"`)
 * or a line break cannot reach a client as anything else. Never throws: anything malformed,
 * oversized or about another job is `null`, and reported to `drops`.
 * @param json - the raw text from Redis
 * @param expectedId - when given (a valid job id), the event's `id` must equal it
 * @param maxBytes - larger messages are rejected @default 65536
 * @param drops - where a dropped message is counted and logged @default droppedBusMessages
 */
export function parseBusMessage(
  json: string,
  expectedId?: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  drops: DroppedMessages = droppedBusMessages,
): BusEvent | null {
  if (typeof json !== 'string') {
    drops.record('not_json', 'a bus message must be text', expectedId)
    return null
  }
  if (byteLengthOver(json, maxBytes)) {
    drops.record('too_large', `larger than ${maxBytes} bytes`, expectedId)
    return null
  }
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    drops.record('not_json', 'not valid JSON', expectedId)
    return null
  }
  if (!isPlainObject(value)) {
    drops.record('not_object', 'event must be a JSON object', expectedId)
    return null
  }
  const seq = value.seq
  const problem: EventProblem | undefined =
    typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1
      ? invalidEvent('seq', 'must be a whole number ≥ 1, set by the publish script')
      : (idProblem(value.id, expectedId) ?? fieldProblem(value))
  if (problem) {
    drops.record(dropReason(problem), `${problem.field} ${problem.problem}`, expectedId)
    return null
  }
  const event = canonical<JobEvent>(value, seq as number)
  return { event, json: JSON.stringify(event) }
}
