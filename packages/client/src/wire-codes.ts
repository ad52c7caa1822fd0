/**
 * What the client does with each error code the gateway sends about a job (docs/protocol.md,
 * "Errors", column "client"): the one table every transport and the client core consult.
 */

/**
 * - `retry`: a passing fault of the gateway or its Redis; the job is asked for again with its
 *   cursor after a jittered backoff (polling keeps polling), so nothing is lost.
 * - `token`: the token function is asked again and the job resubscribed with its cursor.
 * - `route`: the request reached no gateway route (`not_found`, also what a 404 without the
 *   gateway's body counts as): the client's `url` is wrong, not the job. The transport fails
 *   without a job in question; once every transport is answered so, every wait rejects with
 *   `GatewayError`.
 * - `fatal`: retrying cannot help; the wait rejects with a typed error carrying the code.
 */
export type WireCodeAction = 'retry' | 'token' | 'route' | 'fatal'

/**
 * The codes that are not fatal. Only these are listed: an unknown code (say, from a newer
 * gateway) rejects with its message rather than retrying something that may never succeed.
 * @internal
 */
export const NOT_FATAL: Record<string, WireCodeAction> = {
  bus_unavailable: 'retry',
  rate_limited: 'retry',
  shutting_down: 'retry',
  internal: 'retry',
  too_many_connections: 'retry',
  token_expired: 'token',
  not_found: 'route',
}

/** What the client does with a wire error code. */
export const wireCodeAction = (code: string): WireCodeAction => (Object.hasOwn(NOT_FATAL, code) && NOT_FATAL[code]) || 'fatal'
