/**
 * What a client is told about an error thrown while serving it: the one rule for every
 * transport (polling, SSE, WebSocket, refused upgrades). An error with a public code
 * (`job_not_found`, `bus_unavailable`, …) keeps its message. Anything else — `internal`, or
 * an exception jobcast did not expect — may carry Redis or library text that is no business
 * of a browser, so the client gets a generic message with a short id, and the log gets the
 * detail under that id, once per error.
 */
import { randomBytes } from 'node:crypto'
import { isJobcastError } from './errors.js'
import type { ErrorCode } from './protocol.js'

/** An error as a client may see it. */
export interface PublicError {
  readonly code: ErrorCode
  /** `[jobcast]`-prefixed. */
  readonly message: string
}

/** Ids already given to logged errors: an error shared by several requests is logged once. */
const loggedIds = new WeakMap<object, string>()

/**
 * The code and message to send for `error`. An internal error is logged here (with `during`,
 * e.g. `GET /v1/jobs/:id`), so callers only send the answer.
 */
export function publicError(error: unknown, during: string): PublicError {
  if (isJobcastError(error) && error.code !== 'internal') return { code: error.code, message: error.message }
  return { code: 'internal', message: `[jobcast] internal error, id ${logInternalError(error, during)}: try again; the gateway's log has the detail under this id` }
}

/** Logs an internal error once and returns its id (8 hex digits). */
function logInternalError(error: unknown, during: string): string {
  const shared = typeof error === 'object' && error !== null
  const known = shared ? loggedIds.get(error) : undefined
  if (known !== undefined) return known
  const id = randomBytes(4).toString('hex')
  if (shared) loggedIds.set(error, id)
  console.error(`[jobcast] internal error ${id} during ${during}:`, error)
  return id
}
