/**
 * Admission for the gateway's HTTP routes, as one hono middleware: answers CORS preflights,
 * asks {@link Admission.admit} about every other request (polling rate, SSE subscription rate
 * and streams per IP), and sends the CORS headers it chose.
 *
 * The headers are set on the Node response with `setHeader` (merged by `writeHead`) after the
 * route ran, so the route's own lightweight `Response` is never touched: mutating `c.res`
 * after `next()` makes @hono/node-server turn every polling response into a full web
 * `Response` with a stream body (bench/README.md). An SSE route writes its own `writeHead`
 * and takes the headers from {@link corsHeaders}.
 */
import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { nodeBindings } from '../node-bindings.js'
import { errorResponse } from '../http-error.js'
import type { Admission, AdmissionKind } from './admission.js'
import { CORS_ALLOW_HEADERS } from './cors.js'
import { nodeRequestFacts, readRequestOrigin, type RequestOrigin } from './request-origin.js'

const ALLOW_METHODS = 'GET,HEAD,POST,OPTIONS'

/** Paths by their end, so a gateway app mounted under a prefix is admitted the same way. */
const STATUS_PATH = /\/v1\/jobs\/[^/]+$/
const SSE_PATH = /(?:\/v1\/jobs\/[^/]+\/events|\/v1\/events)$/

/** What a request opens, from its method and path (and the jobs of a multi-job stream). */
function kindOf(c: Context): { kind: AdmissionKind; jobs: number } {
  const method = c.req.method
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'other', jobs: 0 }
  const path = c.req.path
  if (STATUS_PATH.test(path)) return { kind: 'poll', jobs: 1 }
  if (!SSE_PATH.test(path)) return { kind: 'other', jobs: 0 }
  // A multi-job stream costs one subscription per job.
  return { kind: 'sse', jobs: path.endsWith('/v1/events') ? Math.max(1, c.req.queries('id')?.length ?? 1) : 1 }
}

/** Client IP and origin facts: from the Node request when there is one, else from the web `Request` (no IP then). */
function factsOf(c: Context, incoming: IncomingMessage | undefined, trustProxyHops: number): RequestOrigin & { ip: string | undefined } {
  if (incoming) return nodeRequestFacts(incoming, trustProxyHops)
  const headers = c.req.raw.headers
  return { ip: undefined, ...readRequestOrigin((name) => headers.get(name) ?? undefined, c.req.url.startsWith('https:'), trustProxyHops) }
}

/** Options of {@link admissionMiddleware}. */
export interface HttpAdmissionOptions {
  /** Reverse proxies trusted for the client IP and scheme (client-ip.ts). @default 0 */
  trustProxyHops?: number
  /** How long browsers may cache a preflight answer, seconds. @default 600 */
  maxAgeSec?: number
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The CORS headers of this response (set by {@link admissionMiddleware}). */
    jobcastCors: Readonly<Record<string, string>>
  }
}

/** The CORS headers {@link admissionMiddleware} chose, for routes that write the Node response themselves. */
export function corsHeaders(c: Context): Readonly<Record<string, string>> | undefined {
  return c.get('jobcastCors')
}

/** The middleware; register it for every path (`app.use('*', …)`). */
export function admissionMiddleware(admission: Admission, options: HttpAdmissionOptions = {}): MiddlewareHandler {
  const trustProxyHops = options.trustProxyHops ?? 0
  const maxAge = String(options.maxAgeSec ?? 600)
  return async (c, next) => {
    const { incoming, outgoing } = nodeBindings(c)
    const facts = factsOf(c, incoming, trustProxyHops)
    if (c.req.method === 'OPTIONS') {
      const decision = admission.admit({ ...facts, kind: 'other' })
      const headers: Record<string, string> = {
        ...(decision.ok ? decision.cors : {}),
        vary: 'Origin, Access-Control-Request-Headers',
        'access-control-max-age': maxAge,
        'access-control-allow-methods': ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
      }
      return new Response(null, { status: 204, statusText: 'No Content', headers })
    }
    const { kind, jobs } = kindOf(c)
    const decision = admission.admit({ ...facts, kind, jobs })
    if (!decision.ok) return errorResponse(decision.status, decision.code, decision.message, decision.headers)
    const cors = decision.cors
    if (outgoing) {
      // The slot is held until the Node response closes: stream ended by either side, or a plain
      // answer sent. 'close' fires once, and the release is idempotent: `on` needs no `once` wrapper.
      outgoing.on('close', decision.release)
      c.set('jobcastCors', cors)
      try {
        await next()
      } catch (error) {
        decision.release()
        throw error
      }
      if (outgoing.headersSent) return
      for (const name in cors) outgoing.setHeader(name, cors[name] as string)
      return
    }
    // Without a Node response (app.request(), other runtimes): add them to the result.
    await next()
    const headers = c.res.headers
    for (const name in cors) {
      if (name === 'vary') headers.append('vary', 'Origin')
      else headers.set(name, cors[name] as string)
    }
  }
}
