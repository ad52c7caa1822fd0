/**
 * `GET /v1/jobs/:id`: the latest event for polling clients. `ETag` is the seq, so an
 * unchanged job costs a 304 with no body; `Retry-After` hints the poll interval.
 */
import type { Authorizer } from '../auth/authorizer.js'
import type { JobHub } from '../hub.js'
import { isTerminal, isValidJobId, JOB_ID_RULE } from '../protocol.js'
import { formatSeq } from '../sse/frames.js'
import { authStatus, errorResponse } from '../http-error.js'
import { requestToken } from '../auth/request-token.js'

/** What the status route needs. */
export interface StatusRouteDeps {
  hub: Pick<JobHub, 'get'>
  authorizer: Authorizer
  /** `Retry-After` seconds while the job is not terminal. */
  pollRetryAfterSeconds: number
}

/** Does an If-None-Match header (`"1"`, `W/"1"`, a list, or `*`) match this ETag? */
export function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false
  if (header === etag) return true
  return header.split(',').some((part) => {
    const tag = part.trim().replace(/^W\//, '')
    return tag === '*' || tag === etag
  })
}

/**
 * The `GET /v1/jobs/:id` handler. Built once: the hot path of polling, so the response is
 * a plain-header `Response` around the snapshot text as stored (never re-serialized), which
 * @hono/node-server writes without building a web stream.
 */
export function jobStatusHandler(deps: StatusRouteDeps): (req: Request, id: string) => Promise<Response> {
  const retryAfter = String(deps.pollRetryAfterSeconds)
  return async (req, id) => {
    if (!isValidJobId(id)) return errorResponse(400, 'invalid_job_id', `invalid job id: ${JOB_ID_RULE}`)
    const decision = await deps.authorizer.authorize(id, requestToken(req))
    if (!decision.ok) return errorResponse(authStatus(decision.code), decision.code, decision.message)
    const snapshot = await deps.hub.get(id)
    if (!snapshot) return errorResponse(404, 'job_not_found', `no job ${id}: it was never published or its snapshot expired`)
    const etag = `"${formatSeq(snapshot.event.seq)}"`
    const running = !isTerminal(snapshot.event)
    if (etagMatches(req.headers.get('if-none-match'), etag)) {
      return new Response(null, { status: 304, headers: running ? { etag, 'cache-control': 'no-cache', 'retry-after': retryAfter } : { etag, 'cache-control': 'no-cache' } })
    }
    const headers: Record<string, string> = running
      ? { etag, 'cache-control': 'no-cache', 'retry-after': retryAfter, 'content-type': 'application/json; charset=utf-8' }
      : { etag, 'cache-control': 'no-cache', 'content-type': 'application/json; charset=utf-8' }
    return new Response(snapshot.json, { status: 200, headers })
  }
}
