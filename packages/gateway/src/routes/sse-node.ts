/**
 * The gateway's SSE fast path: `GET /v1/jobs/:id/events` and `GET /v1/events` served from the
 * Node request listener, before hono. Same route ({@link resolveSse}), same limits
 * ({@link SecurityHooks.admitSse}), same answers; what it saves is what the hono pipeline
 * leaves behind for a response that lives for hours: the request wrapper and its headers,
 * held by @hono/node-server's close handler, and the per-request objects that outlive a
 * young-generation GC while the watch starts and then fragment the old generation. Measured
 * with `JOBCAST_BENCH_ONLY=memory npm run bench`: see the commit that added this file.
 *
 * A gateway with its own `beforeRoutes` middleware does not use it: that middleware must see
 * every request, so SSE then goes through hono like every other route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorCode } from '../protocol.js'
import { publicError } from '../public-error.js'
import { rawHeader } from '../raw-header.js'
import type { SecurityHooks } from '../limits/security-hooks.js'
import { resolveSse, SSE_DONE_HEADERS, SSE_HEADERS, type SseOutcome, type SseRouteDeps } from './events-sse.js'
import { ERROR_HEADERS, errorBodyJson, statusForCode } from './http-error.js'
import { pipeSseToNode } from './sse-stream.js'

/** Takes a request when it is one of the SSE routes (true), else leaves it to hono (false). */
export type NodeSseHandler = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * Paths taken here: exactly the two routes, with an id segment of id characters and `%`
 * escapes. Anything else, including dot segments (`%2e` too) that URL parsing would resolve
 * to another path, goes to hono, which routes it as it always did.
 */
const SINGLE = /^\/v1\/jobs\/([A-Za-z0-9._:@%-]+)\/events$/

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    // Kept as sent: `%` is not an id character, so it is refused as invalid_job_id, as by hono.
    return segment
  }
}

/** The id of a single-job path (decoded), `undefined` for `/v1/events`, `null` for any other path. */
function routeOf(path: string): string | undefined | null {
  if (path === '/v1/events') return undefined
  const match = SINGLE.exec(path)
  const segment = match?.[1]
  if (segment === undefined || segment === '.' || segment === '..' || /%2e/i.test(segment)) return null
  return decodeSegment(segment)
}

function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Readonly<Record<string, string>> | undefined): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { ...ERROR_HEADERS, ...headers })
  res.end(errorBodyJson(code, message))
}

function respond(res: ServerResponse, outcome: SseOutcome, cors: Readonly<Record<string, string>> | undefined): void {
  switch (outcome.kind) {
    case 'error':
      return sendError(res, outcome.status, outcome.code, outcome.message, cors ? { ...outcome.headers, ...cors } : outcome.headers)
    case 'done':
      if (res.destroyed) return
      res.writeHead(204, cors ? { ...SSE_DONE_HEADERS, ...cors } : SSE_DONE_HEADERS)
      res.end()
      return
    case 'head':
      // Not reached: only GET is taken here.
      return sendError(res, 405, 'method_not_allowed', 'method not allowed here: use GET', cors)
    case 'stream':
      return pipeSseToNode(outcome.options, res, cors ? { ...SSE_HEADERS, ...cors } : SSE_HEADERS)
  }
}

/** An exception while resolving: the answer hono's error handler gives (app.ts). */
function respondToError(res: ServerResponse, error: unknown, cors: Readonly<Record<string, string>> | undefined): void {
  const { code, message } = publicError(error, 'GET (SSE)')
  sendError(res, statusForCode(code), code, message, cors)
}

/**
 * The fast path's request handler.
 * @param deps - the SSE route settings (its own heartbeat timer)
 * @param security - the gateway's browser-facing limits, when it applies them
 */
export function createNodeSseHandler(deps: SseRouteDeps, security: Pick<SecurityHooks, 'admitSse'> | undefined): NodeSseHandler {
  return (req, res) => {
    if (req.method !== 'GET') return false
    const target = req.url ?? ''
    const q = target.indexOf('?')
    const pathId = routeOf(q === -1 ? target : target.slice(0, q))
    if (pathId === null) return false
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1))
    let cors: Readonly<Record<string, string>> | undefined
    if (security) {
      // A multi-job stream costs one subscription per job, as on the hono route.
      const admission = security.admitSse(req, res, pathId === undefined ? Math.max(1, query.getAll('id').length) : 1)
      if (!admission.ok) {
        sendError(res, admission.status, admission.code, admission.message, admission.headers)
        return true
      }
      cors = admission.headers
    }
    const raw = req.rawHeaders
    resolveSse(deps, {
      method: 'GET',
      pathId,
      query,
      lastEventId: rawHeader(raw, 'last-event-id'),
      authorization: rawHeader(raw, 'authorization', true),
    }).then(
      (outcome) => respond(res, outcome, cors),
      (error: unknown) => respondToError(res, error, cors),
    )
    return true
  }
}
