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
