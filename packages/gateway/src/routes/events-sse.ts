/**
 * `GET /v1/jobs/:id/events` and `GET /v1/events`: the only SSE entry point, the same for the
 * gateway's own server and for `Gateway.app` mounted in another hono app or server. Under
 * @hono/node-server the stream writes to the Node response itself; without one
 * (`app.request()`, other runtimes) the same stream code fills a web `Response` body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Context } from 'hono'
import { corsHeaders } from '../admission/http-admission.js'
import { nodeBindings, nodeHeader } from '../node-bindings.js'
import { resolveSse, SSE_DONE_HEADERS, SSE_HEADERS, type SseRequest, type SseRouteDeps } from '../sse/resolve-sse.js'
import { startSseStream, type SseStreamOptions } from '../sse/sse-stream.js'
import { createWebSseSink } from '../sse/web-sink.js'
import { errorResponse } from '../http-error.js'

/**
 * The request as the route reads it. From the Node request when there is one: the web
 * `Request` wrapper would otherwise build a header table that @hono/node-server keeps
 * for as long as the stream lives.
 */
function readRequest(c: Context, incoming: IncomingMessage | undefined, pathId: string | undefined): SseRequest {
  if (incoming) {
    const target = incoming.url ?? ''
    const q = target.indexOf('?')
    return {
      method: incoming.method ?? 'GET',
      pathId,
      query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
      lastEventId: nodeHeader(incoming, 'last-event-id'),
      authorization: nodeHeader(incoming, 'authorization'),
    }
  }
  const req = c.req.raw
  return {
    method: req.method,
    pathId,
    query: new URL(req.url).searchParams,
    lastEventId: req.headers.get('last-event-id'),
    authorization: req.headers.get('authorization'),
  }
}

/**
 * Stream on a Node response: status and headers now, then every frame with `res.write`.
 * A client that goes away (`close`) ends the stream.
 */
function streamToNode(options: SseStreamOptions, res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  res.writeHead(200, headers)
  // The client may have left while authorization or the snapshot read was in flight: its
  // 'close' is then already past, and the stream must not start watches nobody will end.
  if (res.destroyed || res.socket?.destroyed !== false) return void res.end()
  const stream = startSseStream(options, res)
  res.once('close', () => stream.end())
}

/** The SSE route handler (`pathId` undefined: `/v1/events`, whose ids are in the query). */
export async function sseRoute(deps: SseRouteDeps, c: Context, pathId: string | undefined): Promise<Response> {
  const { incoming, outgoing } = nodeBindings(c)
  const outcome = await resolveSse(deps, readRequest(c, incoming, pathId))
  switch (outcome.kind) {
    case 'error':
      return errorResponse(outcome.status, outcome.code, outcome.message, outcome.headers)
    case 'done':
      return new Response(null, { status: 204, headers: SSE_DONE_HEADERS })
    case 'head':
      return new Response(null, { status: 200, headers: SSE_HEADERS })
    case 'stream': {
      if (outgoing) {
        // CORS middleware chose these headers; they go out with the stream's own writeHead.
        const cors = corsHeaders(c)
        streamToNode(outcome.options, outgoing, cors ? { ...SSE_HEADERS, ...cors } : SSE_HEADERS)
        // Tells @hono/node-server that the response is already being sent.
        return RESPONSE_ALREADY_SENT
      }
      let stream: { end(): void } | undefined
      const { sink, body } = createWebSseSink(() => stream?.end())
      stream = startSseStream(outcome.options, sink)
      return new Response(body, { status: 200, headers: SSE_HEADERS })
    }
  }
}
