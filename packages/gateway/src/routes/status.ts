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

/**
 * Does the poller already hold this event or a newer one? Its If-None-Match (`"1"`, `W/"1"`, a
 * list, or `*`) names the seqs it holds. A snapshot older than those counts as held too: after
 * Redis lost its data, a gateway may restore an earlier event a moment before a producer restores
 * the latest, and a poller must never be sent something older than what it has.
 */
export function pollerHolds(header: string | null, seq: number): boolean {
  if (header === null) return false
  return header.split(',').some((part) => {
    const tag = part.trim().replace(/^W\//, '')
    if (tag === '*') return true
    const held = /^"(\d{1,16})"$/.exec(tag)
    return held !== null && Number(held[1]) >= seq
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
    if (pollerHolds(req.headers.get('if-none-match'), snapshot.event.seq)) {
      return new Response(null, { status: 304, headers: running ? { etag, 'cache-control': 'no-cache', 'retry-after': retryAfter } : { etag, 'cache-control': 'no-cache' } })
    }
    const headers: Record<string, string> = running
      ? { etag, 'cache-control': 'no-cache', 'retry-after': retryAfter, 'content-type': 'application/json; charset=utf-8' }
      : { etag, 'cache-control': 'no-cache', 'content-type': 'application/json; charset=utf-8' }
    return new Response(snapshot.json, { status: 200, headers })
  }
}
