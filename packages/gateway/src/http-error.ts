import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ErrorCode } from './protocol.js'

/** The body of every HTTP error: `{"error":{"code","message"}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

/** The text of an error body, `[jobcast]`-prefixed: the one place the shape is built (HTTP routes, limits, refused upgrades). */
export function errorBodyJson(code: ErrorCode, message: string): string {
  const body: ErrorBody = { error: { code, message: message.startsWith('[jobcast]') ? message : `[jobcast] ${message}` } }
  return JSON.stringify(body)
}

/** The headers of every JSON error response (before route-specific ones such as `Retry-After`). */
export const ERROR_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })

/** A JSON error response with the contract's body shape. */
export function errorResponse(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(errorBodyJson(code, message), { status, headers: { ...ERROR_HEADERS, ...headers } })
}

/**
 * Answers a raw socket — a refused WebSocket upgrade, a request Node's parser rejected — with
 * a JSON error and closes it: the one writer of responses outside Node's `ServerResponse`.
 */
export function endSocketWithError(socket: Duplex, status: number, code: ErrorCode, message: string, headers: Readonly<Record<string, string>> = {}): void {
  const body = errorBodyJson(code, message)
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n`
  for (const [name, value] of Object.entries({ ...ERROR_HEADERS, ...headers })) head += `${name}: ${value}\r\n`
  socket.end(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  // Once written, nothing more will be read or sent: free the socket rather than wait for the peer.
  socket.once('finish', () => socket.destroy())
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_job_id: 400,
  invalid_event: 400,
  bad_cursor: 400,
  job_not_found: 404,
  job_terminal: 409,
  bus_unavailable: 503,
  shutting_down: 503,
}

/** The HTTP status of an error thrown with this code by the bus or hub (500 for the rest). */
export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500
}

/** HTTP status for an authorization failure code. */
export function authStatus(code: 'unauthorized' | 'forbidden' | 'token_expired'): number {
  return code === 'forbidden' ? 403 : 401
}
