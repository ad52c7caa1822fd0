/**
 * The Node request and response behind a hono context: @hono/node-server passes them as the
 * context's `env`. Absent under `app.request()` (tests) and other runtimes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context } from 'hono'

/** What @hono/node-server puts in `c.env`. */
export interface NodeBindings {
  incoming?: IncomingMessage
  outgoing?: ServerResponse
}

/** The Node request/response behind a hono context, when there is one (`{}` otherwise). */
export function nodeBindings(c: Context): NodeBindings {
  const env: unknown = c.env
  return typeof env === 'object' && env !== null ? (env as NodeBindings) : {}
}

/**
 * A header of a Node request as one string: Node joins repeated headers with `, ` and keeps
 * the first of single-valued ones (`host`, `authorization`); only `set-cookie` is an array.
 */
export function nodeHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}
