import type { ErrorCode } from '../protocol.js'

/** The body of every HTTP error: `{"error":{"code","message"}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

/** The text of an error body, `[jobcast]`-prefixed: the one place the shape is built (HTTP routes, limits, refused upgrades). */
export function errorBodyJson(code: ErrorCode, message: string): string {
  const body: ErrorBody = { error: { code, message: message.startsWith('[jobcast]') ? message : `[jobcast] ${message}` } }
  return JSON.stringify(body)
}

/** A JSON error response with the contract's body shape. */
export function errorResponse(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(errorBodyJson(code, message), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  })
}

/** HTTP status for an authorization failure code. */
export function authStatus(code: 'unauthorized' | 'forbidden' | 'token_expired'): number {
  return code === 'forbidden' ? 403 : 401
}
