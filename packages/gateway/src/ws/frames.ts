/**
 * WebSocket frames of the jobcast protocol (pure). Client frames are parsed defensively;
 * server frames are built as strings, job frames once per event (see {@link jobFrame}).
 */
import type { BusEvent } from '../bus/bus.js'
import { frameCache } from '../frame-cache.js'
import { isValidJobId, JOB_ID_RULE, type ErrorCode } from '../protocol.js'

/** A frame a client may send. */
export type ClientFrame =
  | { type: 'subscribe'; id: string; since: number; token: string | undefined }
  | { type: 'unsubscribe'; id: string }
  | { type: 'ping' }

/** Result of parsing one inbound text frame. */
export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id?: string }

const fail = (code: ErrorCode, message: string, id?: string): ParsedFrame =>
  id === undefined ? { ok: false, code, message: `[jobcast] ${message}` } : { ok: false, code, message: `[jobcast] ${message}`, id }

/** Parse a client frame. Never throws. */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail('bad_frame', 'frame is not JSON: send {"type":"subscribe","id":"…"}')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_frame', 'frame must be a JSON object with a "type"')
  }
  const frame = value as Record<string, unknown>
  switch (frame.type) {
    case 'ping':
      return { ok: true, frame: { type: 'ping' } }
    case 'subscribe':
    case 'unsubscribe': {
      const id = frame.id
      if (!isValidJobId(id)) {
        const shown = typeof id === 'string' && id.length <= 200 ? id : undefined
        return fail('invalid_job_id', `invalid job id: ${JOB_ID_RULE}`, shown)
      }
      if (frame.type === 'unsubscribe') return { ok: true, frame: { type: 'unsubscribe', id } }
      const since = frame.since ?? 0
      if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) {
        return fail('bad_cursor', '"since" must be the seq of the last event received (a non-negative integer)', id)
      }
      const token = frame.token
      if (token !== undefined && typeof token !== 'string') return fail('bad_frame', '"token" must be a string', id)
      return { ok: true, frame: { type: 'subscribe', id, since, token } }
    }
    default:
      return fail('bad_frame', 'unknown frame type: use subscribe, unsubscribe or ping')
  }
}

// Job ids are validated against JOB_ID_PATTERN before any frame names them, and that grammar
// has nothing JSON must escape, so these per-subscriber frames are plain templates: a terminal
// event sends one `unsubscribed` to every subscriber, and that path stays free of JSON.stringify.

/** `{"type":"subscribed","id","exists"}` (`id` must be a valid job id) */
export function subscribedFrame(id: string, exists: boolean): string {
  return `{"type":"subscribed","id":"${id}","exists":${exists}}`
}

/** `{"type":"unsubscribed","id"}` (`id` must be a valid job id) */
export function unsubscribedFrame(id: string): string {
  return `{"type":"unsubscribed","id":"${id}"}`
}

/** `{"type":"error","id"?,"code","message"}` */
export function errorFrame(code: ErrorCode, message: string, id?: string): string {
  return JSON.stringify(id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message })
}

/** `{"type":"pong"}` */
export const PONG_FRAME = '{"type":"pong"}'

/**
 * `{"type":"job","job":<event>}`, built from the event's JSON text once per event and shared
 * by every socket (a Buffer, so `ws` does not re-encode the string per send).
 */
export const jobFrame: (message: BusEvent) => Buffer = frameCache((m) => Buffer.from(`{"type":"job","job":${m.json}}`))
