/**
 * `GET /v1/jobs/:id/events` and `GET /v1/events`. One route ({@link serveSseOnNode} for a Node
 * response, a web body only for `app.request()` and other runtimes), reached two ways that
 * call the same code:
 * - the hono routes of `Gateway.app`, wherever it is mounted ({@link sseRoute});
 * - the gateway's own server, which hands SSE requests to it before hono
 *   ({@link createSseEdge}): hono's per-request objects would otherwise live as long as
 *   each stream (bench/README.md, "SSE memory"). A gateway with `beforeRoutes` middleware
 *   of its caller's does not, so that middleware sees every request.
 * The transport contract suite runs both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Context } from 'hono'
import type { AdmissionDecision } from '../admission/admission.js'
import { corsHeaders } from '../admission/http-admission.js'
import { ERROR_HEADERS, errorBodyJson, errorResponse, statusForCode } from '../http-error.js'
import { nodeBindings, nodeHeader } from '../node-bindings.js'
import type { ErrorCode } from '../protocol.js'
import { publicError } from '../public-error.js'
import { resolveSse, SSE_DONE_HEADERS, SSE_HEADERS, type SseOutcome, type SseRequest, type SseRouteDeps } from '../sse/resolve-sse.js'
import { startSseStream } from '../sse/sse-stream.js'
import { createWebSseSink } from '../sse/web-sink.js'

type Headers = Readonly<Record<string, string>>

/** An SSE request read from a Node request (no web `Request` wrapper is built). */
function readNodeRequest(req: IncomingMessage, pathId: string | undefined): SseRequest {
  const target = req.url ?? ''
  const q = target.indexOf('?')
  return {
    method: req.method ?? 'GET',
    pathId,
    query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
    lastEventId: nodeHeader(req, 'last-event-id'),
    authorization: nodeHeader(req, 'authorization'),
  }
}

function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Headers | undefined): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { ...ERROR_HEADERS, ...headers })
  res.end(errorBodyJson(code, message))
}

/**
 * Node builds a response's status line and headers by `+=` and keeps that rope of ~30 string
 * pieces (`_header`, not a public field) for the response's life; reading one character makes
 * V8 flatten it into one string: the largest single saving per idle SSE stream in a heap diff
 * (bench/README.md). Only a memory hint: nothing depends on it.
 */
function flattenHeaderText(res: ServerResponse): void {
  const text: unknown = (res as unknown as { _header?: unknown })._header
  if (typeof text === 'string') text.charCodeAt(0)
}

/** Answer an outcome on a Node response; a stream writes to the response itself. */
function respondOnNode(res: ServerResponse, outcome: SseOutcome, cors: Headers | undefined): void {
  switch (outcome.kind) {
    case 'error':
      return sendError(res, outcome.status, outcome.code, outcome.message, { ...outcome.headers, ...cors })
    case 'done':
    case 'head':
      res.writeHead(outcome.kind === 'done' ? 204 : 200, { ...(outcome.kind === 'done' ? SSE_DONE_HEADERS : SSE_HEADERS), ...cors })
      res.end()
      return
    case 'stream': {
      res.writeHead(200, cors ? { ...SSE_HEADERS, ...cors } : SSE_HEADERS)
      flattenHeaderText(res)
      // The client may have left while authorization or the snapshot read was in flight: its
      // 'close' is then already past, and the stream must not start watches nobody will end.
      if (res.destroyed || res.socket?.destroyed !== false) return void res.end()
      const stream = startSseStream(outcome.options, res)
      // 'close' fires once: `on` keeps an idle stream free of a `once` wrapper.
      res.on('close', () => stream.end())
    }
  }
}

/**
 * The SSE route on a Node request/response, once admitted (`cors`: the headers admission
 * chose). A failure to read a snapshot is answered like hono's error handler does (app.ts).
 */
export async function serveSseOnNode(deps: SseRouteDeps, req: IncomingMessage, res: ServerResponse, pathId: string | undefined, cors: Headers | undefined): Promise<void> {
  try {
    respondOnNode(res, await resolveSse(deps, readNodeRequest(req, pathId)), cors)
  } catch (error) {
    const { code, message } = publicError(error, `${req.method ?? 'GET'} (SSE)`)
    sendError(res, statusForCode(code), code, message, cors)
  }
}

/** The hono route handler (`pathId` undefined: `/v1/events`, whose ids are in the query). */
export async function sseRoute(deps: SseRouteDeps, c: Context, pathId: string | undefined): Promise<Response> {
  const { incoming, outgoing } = nodeBindings(c)
  // HEAD stays a web answer: hono answers it from the GET route by copying the Response this
  // returns, so a HEAD written to the Node response here would be written twice.
  if (incoming && outgoing && c.req.method === 'GET') {
    await serveSseOnNode(deps, incoming, outgoing, pathId, corsHeaders(c))
    // Tells @hono/node-server that the response is already being sent.
    return RESPONSE_ALREADY_SENT
  }
  const req = c.req.raw
  const outcome = await resolveSse(deps, {
    method: req.method,
    pathId,
    query: new URL(req.url).searchParams,
    lastEventId: req.headers.get('last-event-id'),
    authorization: req.headers.get('authorization'),
  })
  switch (outcome.kind) {
    case 'error':
      return errorResponse(outcome.status, outcome.code, outcome.message, outcome.headers)
    case 'done':
      return new Response(null, { status: 204, headers: SSE_DONE_HEADERS })
    case 'head':
      return new Response(null, { status: 200, headers: SSE_HEADERS })
    case 'stream': {
      let stream: { end(): void } | undefined
      const { sink, body } = createWebSseSink(() => stream?.end())
      stream = startSseStream(outcome.options, sink)
      return new Response(body, { status: 200, headers: SSE_HEADERS })
    }
  }
}

/**
 * Paths the edge takes: exactly the two routes, with an id segment of id characters and `%`
 * escapes. Anything else, dot segments (`%2e` too) included, goes to hono, which routes it.
 */
const SINGLE_JOB_PATH = /^\/v1\/jobs\/([A-Za-z0-9._:@%-]+)\/events$/

/** The id of a single-job path (decoded), `undefined` for `/v1/events`, `null` for any other path. */
function sseRouteOf(path: string): string | undefined | null {
  if (path === '/v1/events') return undefined
  const segment = SINGLE_JOB_PATH.exec(path)?.[1]
  if (segment === undefined || segment === '.' || segment === '..' || /%2e/i.test(segment)) return null
  try {
    return decodeURIComponent(segment)
  } catch {
    // Kept as sent: `%` is not an id character, so it is refused as invalid_job_id, as by hono.
    return segment
  }
}

/** Takes a request when it is a `GET` of an SSE route (true), else leaves it to hono (false). */
export type SseEdge = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * The gateway's own server's way to the SSE route: admission (the same decision the hono
 * middleware asks), then {@link serveSseOnNode}.
 * @param admitNode - the gateway's admission of a Node request, when it applies limits
 */
export function createSseEdge(deps: SseRouteDeps, admitNode: ((req: IncomingMessage, kind: 'sse', jobs: number) => AdmissionDecision) | undefined): SseEdge {
  return (req, res) => {
    if (req.method !== 'GET') return false
    const target = req.url ?? ''
    const q = target.indexOf('?')
    const pathId = sseRouteOf(q === -1 ? target : target.slice(0, q))
    if (pathId === null) return false
    let cors: Headers | undefined
    if (admitNode) {
      // A multi-job stream costs one subscription per job, as in the hono middleware.
      const jobs = pathId === undefined ? Math.max(1, new URLSearchParams(q === -1 ? '' : target.slice(q + 1)).getAll('id').length) : 1
      const decision = admitNode(req, 'sse', jobs)
      if (!decision.ok) {
        sendError(res, decision.status, decision.code, decision.message, decision.headers)
        return true
      }
      res.on('close', decision.release)
      cors = decision.cors
    }
    void serveSseOnNode(deps, req, res, pathId, cors)
    return true
  }
}
