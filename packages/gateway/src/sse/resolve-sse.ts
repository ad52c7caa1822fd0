/**
 * What an SSE request asks for: `GET /v1/jobs/:id/events` (one job) and `GET /v1/events?id=…`
 * (several jobs). Validation, authorization and the 204 check happen before the stream
 * starts, so failures are plain JSON errors; then a stream (sse-stream.ts) takes over.
 */
import type { Authorizer } from '../auth/authorizer.js'
import type { JobHub } from '../hub.js'
import { isTerminal, isValidJobId, JOB_ID_RULE, type ErrorCode } from '../protocol.js'
import type { ConnectionRegistry } from '../registry.js'
import { DEFAULT_CONFIG } from '../config.js'
import { authStatus } from '../http-error.js'
import { bearerToken, queryToken } from '../auth/request-token.js'
import { parseCursor, parseSeqCursor } from './frames.js'
import { Heartbeat } from './heartbeat.js'
import type { SseStreamOptions } from './sse-stream.js'

/** Settings of both SSE routes. */
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

/** What {@link createSseRouteDeps} needs; the limits have the gateway's defaults. */
export interface SseRouteSettings {
  hub: Pick<JobHub, 'watch' | 'get'>
  authorizer: Authorizer
  registry: ConnectionRegistry
  /** @default 15000 */
  heartbeatMs?: number
  /** @default 2000 */
  sseRetryMs?: number
  /** @default 1048576 */
  maxBufferedBytes?: number
  /** @default 100 */
  maxJobsPerStream?: number
}

/** The routes' deps, with the heartbeat timer all their streams share. */
export function createSseRouteDeps(s: SseRouteSettings): SseRouteDeps {
  return {
    hub: s.hub,
    authorizer: s.authorizer,
    registry: s.registry,
    heartbeat: new Heartbeat(s.heartbeatMs ?? DEFAULT_CONFIG.heartbeatMs),
    retryMs: s.sseRetryMs ?? 2_000,
    maxBufferedBytes: s.maxBufferedBytes ?? DEFAULT_CONFIG.maxBufferedBytes,
    maxJobsPerStream: s.maxJobsPerStream ?? DEFAULT_CONFIG.maxJobsPerStream,
  }
}

/** The parts of an SSE request the route reads. */
export interface SseRequest {
  /** `GET` or `HEAD`. */
  method: string
  /** The id in `/v1/jobs/:id/events` (decoded); `undefined` for `/v1/events`, whose ids are in the query. */
  pathId: string | undefined
  query: URLSearchParams
  /** The `Last-Event-ID` header. */
  lastEventId: string | null | undefined
  /** The `Authorization` header. */
  authorization: string | null | undefined
}

/** What to answer. */
export type SseOutcome =
  | { kind: 'error'; status: number; code: ErrorCode; message: string; headers?: Record<string, string> }
  /** 204: the client already has every job's terminal event (stops EventSource reconnecting). */
  | { kind: 'done' }
  /** HEAD: the stream's headers, no body. */
  | { kind: 'head' }
  | { kind: 'stream'; options: SseStreamOptions }

/** The response headers of every stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
})

/** The headers of the 204 answer. */
export const SSE_DONE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-cache' })

function fail(status: number, code: ErrorCode, message: string, headers?: Record<string, string>): SseOutcome {
  return { kind: 'error', status, code, message, headers }
}

/** Ids and resume cursor of a request, or why they are unusable. */
function parseRequest(deps: SseRouteDeps, request: SseRequest): { ids: string[]; cursor: number[] } | SseOutcome {
  // Last-Event-ID header wins over `?lastEventId=` (EventSource sends the header on reconnect).
  const lastEventId = request.lastEventId ?? request.query.get('lastEventId')
  if (request.pathId !== undefined) {
    if (!isValidJobId(request.pathId)) return fail(400, 'invalid_job_id', `invalid job id: ${JOB_ID_RULE}`)
    const since = parseSeqCursor(lastEventId)
    if (since === null) return fail(400, 'bad_cursor', 'Last-Event-ID must be the seq of the last event received (an integer)')
    return { ids: [request.pathId], cursor: [since] }
  }
  const ids = request.query.getAll('id')
  if (ids.length === 0) return fail(400, 'invalid_job_id', 'no job id: pass one or more ?id= parameters')
  if (ids.length > deps.maxJobsPerStream) {
    return fail(400, 'too_many_jobs', `${ids.length} jobs on one stream, the limit is ${deps.maxJobsPerStream}: split them over several streams`)
  }
  const bad = ids.findIndex((id) => !isValidJobId(id))
  if (bad !== -1) return fail(400, 'invalid_job_id', `invalid job id ${JSON.stringify(String(ids[bad]).slice(0, 140))}: ${JOB_ID_RULE}`)
  if (new Set(ids).size !== ids.length) return fail(400, 'invalid_job_id', 'the same job id is listed twice: list each job once')
  const cursor = parseCursor(lastEventId, ids.length)
  if (cursor === null) {
    return fail(400, 'bad_cursor', `Last-Event-ID must list one seq per job (${ids.length}), comma-separated, in the order of the id parameters`)
  }
  return { ids, cursor }
}

/**
 * The SSE route: validate, authorize every job, answer 204 when the
 * client already has every terminal event, else describe the stream to start.
 * @throws JobcastError `bus_unavailable` when a snapshot cannot be read (503)
 */
export async function resolveSse(deps: SseRouteDeps, request: SseRequest): Promise<SseOutcome> {
  const parsed = parseRequest(deps, request)
  if ('kind' in parsed) return parsed
  const { ids, cursor } = parsed
  if (deps.registry.closing) return fail(503, 'shutting_down', 'the gateway is shutting down: reconnect in a moment', { 'retry-after': '1' })
  const token = bearerToken(request.authorization) ?? queryToken(request.query)
  let expiresAt: number | undefined
  for (const id of ids) {
    const decision = await deps.authorizer.authorize(id, token)
    if (!decision.ok) return fail(authStatus(decision.code), decision.code, decision.message)
    if (decision.expiresAt !== undefined) expiresAt = Math.min(expiresAt ?? Infinity, decision.expiresAt)
  }
  // A job whose terminal event the client already has needs no watch; if that is every job,
  // 204 tells EventSource to stop reconnecting. Without a cursor (a first connect) nothing is read.
  let done: boolean[]
  if (cursor.some((c) => c > 0)) {
    const snapshots = await Promise.all(ids.map((id, i) => ((cursor[i] ?? 0) > 0 ? deps.hub.get(id) : Promise.resolve(null))))
    done = snapshots.map((s, i) => s !== null && isTerminal(s.event) && s.event.seq <= (cursor[i] ?? 0))
    if (done.every(Boolean)) return { kind: 'done' }
  } else {
    done = ids.map(() => false)
  }
  // HEAD gets the headers only: a stream whose body nobody reads would never be cancelled.
  if (request.method === 'HEAD') return { kind: 'head' }
  const options: SseStreamOptions = {
    hub: deps.hub,
    registry: deps.registry,
    heartbeat: deps.heartbeat,
    ids,
    cursor,
    done,
    multi: request.pathId === undefined,
    retryMs: deps.retryMs,
    maxBufferedBytes: deps.maxBufferedBytes,
    expiresAt,
  }
  return { kind: 'stream', options }
}
