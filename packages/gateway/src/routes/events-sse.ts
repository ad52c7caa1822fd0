/**
 * `GET /v1/jobs/:id/events` (one job) and `GET /v1/events?id=…` (several jobs): validation,
 * authorization and the 204 check happen before the stream starts, so failures are plain
 * JSON errors; then {@link createSseStream} takes over.
 */
import type { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Authorizer } from '../auth/authorizer.js'
import type { JobHub } from '../hub.js'
import { isTerminal, isValidJobId } from '../protocol.js'
import type { ConnectionRegistry } from '../registry.js'
import { parseCursor, parseSeqCursor } from '../sse.js'
import { authStatus, errorResponse } from './http-error.js'
import type { Heartbeat } from './heartbeat.js'
import { createSseStream, pipeSseToNode } from './sse-stream.js'
import { requestToken } from './token.js'

/** Settings shared by both SSE routes. */
export interface SseRouteDeps {
  hub: Pick<JobHub, 'watch' | 'get'>
  authorizer: Authorizer
  registry: ConnectionRegistry
  /** The shared heartbeat timer of every stream. */
  heartbeat: Heartbeat
  retryMs: number
  maxBufferedBytes: number
  maxJobsPerStream: number
}

/** The Node response to stream to, and headers chosen by middleware (CORS) to send with it. */
export interface NodeTarget {
  res: ServerResponse
  headers?: Readonly<Record<string, string>>
}

const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
}

/** Last-Event-ID header wins over `?lastEventId=` (EventSource sends the header on reconnect). */
function lastEventId(req: Request, url: URL): string | null {
  return req.headers.get('last-event-id') ?? url.searchParams.get('lastEventId')
}

async function openStream(deps: SseRouteDeps, req: Request, url: URL, ids: string[], cursor: number[], multi: boolean, node?: NodeTarget): Promise<Response> {
  if (deps.registry.closing) return errorResponse(503, 'shutting_down', 'the gateway is shutting down: reconnect in a moment', { 'retry-after': '1' })
  const token = requestToken(req, url)
  let expiresAt: number | undefined
  for (const id of ids) {
    const decision = await deps.authorizer.authorize(id, token)
    if (!decision.ok) return errorResponse(authStatus(decision.code), decision.code, decision.message)
    if (decision.expiresAt !== undefined) expiresAt = Math.min(expiresAt ?? Infinity, decision.expiresAt)
  }
  // A job whose terminal event the client already has needs no watch; if that is every job,
  // 204 tells EventSource to stop reconnecting.
  const snapshots = await Promise.all(ids.map((id, i) => ((cursor[i] ?? 0) > 0 ? deps.hub.get(id) : Promise.resolve(null))))
  const done = snapshots.map((s, i) => s !== null && isTerminal(s.event) && s.event.seq <= (cursor[i] ?? 0))
  if (done.every(Boolean)) return new Response(null, { status: 204, headers: { 'cache-control': 'no-cache' } })
  // HEAD gets the headers only: a stream whose body nobody reads would never be cancelled.
  if (req.method === 'HEAD') return new Response(null, { status: 200, headers: SSE_HEADERS })
  const options = {
    hub: deps.hub,
    registry: deps.registry,
    heartbeat: deps.heartbeat,
    ids,
    cursor,
    done,
    multi,
    retryMs: deps.retryMs,
    maxBufferedBytes: deps.maxBufferedBytes,
    expiresAt,
  }
  if (node) {
    // Under Node the stream writes to the response itself (see sse-stream.ts for why);
    // the marker tells @hono/node-server that the response is already being sent.
    pipeSseToNode(options, node.res, node.headers ? { ...SSE_HEADERS, ...node.headers } : SSE_HEADERS)
    return RESPONSE_ALREADY_SENT
  }
  return new Response(createSseStream(options), { status: 200, headers: SSE_HEADERS })
}

/** `GET /v1/jobs/:id/events`. */
export function singleJobSse(deps: SseRouteDeps, req: Request, id: string, node?: NodeTarget): Promise<Response> | Response {
  if (!isValidJobId(id)) return errorResponse(400, 'invalid_job_id', `invalid job id: use 1–128 characters of A-Z a-z 0-9 . _ : @ -`)
  const url = new URL(req.url)
  const since = parseSeqCursor(lastEventId(req, url))
  if (since === null) return errorResponse(400, 'bad_cursor', 'Last-Event-ID must be the seq of the last event received (an integer)')
  return openStream(deps, req, url, [id], [since], false, node)
}

/** `GET /v1/events?id=a&id=b`. */
export function multiJobSse(deps: SseRouteDeps, req: Request, node?: NodeTarget): Promise<Response> | Response {
  const url = new URL(req.url)
  const ids = url.searchParams.getAll('id')
  if (ids.length === 0) return errorResponse(400, 'invalid_job_id', 'no job id: pass one or more ?id= parameters')
  if (ids.length > deps.maxJobsPerStream) {
    return errorResponse(400, 'too_many_jobs', `${ids.length} jobs on one stream, the limit is ${deps.maxJobsPerStream}: split them over several streams`)
  }
  const bad = ids.findIndex((id) => !isValidJobId(id))
  if (bad !== -1) return errorResponse(400, 'invalid_job_id', `invalid job id ${JSON.stringify(String(ids[bad]).slice(0, 140))}: use 1–128 characters of A-Z a-z 0-9 . _ : @ -`)
  if (new Set(ids).size !== ids.length) return errorResponse(400, 'invalid_job_id', 'the same job id is listed twice: list each job once')
  const cursor = parseCursor(lastEventId(req, url), ids.length)
  if (cursor === null) {
    return errorResponse(400, 'bad_cursor', `Last-Event-ID must list one seq per job (${ids.length}), comma-separated, in the order of the id parameters`)
  }
  return openStream(deps, req, url, ids, cursor, true, node)
}
