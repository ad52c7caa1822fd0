/**
 * CORS for the gateway's HTTP routes, driven by the same {@link OriginPolicy} that
 * guards WebSocket upgrades. Tokens travel in `Authorization`, so the preflight must
 * allow that header; credentials (cookies) are never allowed: jobcast does not use them.
 *
 * Written for the hot path (polling): the headers are set on the Node response with
 * `setHeader` (merged by `writeHead`) after the route ran, and the route's own lightweight
 * `Response` is never touched. Mutating `c.res` after `next()`, as a generic CORS middleware
 * does, makes @hono/node-server turn every response into a full web `Response` with a
 * `ReadableStream` body: that was 3.5× the server CPU per polling request
 * (bench/results/2026-11-28-0056.md). A route that writes the Node response itself (SSE)
 * takes the headers from {@link corsHeaders} and sends them with its own `writeHead`, so its
 * long-lived response keeps no separate header table.
 */
import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { nodeBindings } from '../node-bindings.js'
import type { OriginPolicy } from './origin-policy.js'
import { readRequestOrigin, requestOriginOf, type RequestOrigin } from './request-origin.js'

/** Request headers a browser client may send cross-origin. */
export const CORS_ALLOW_HEADERS: readonly string[] = ['Authorization', 'Content-Type', 'If-None-Match', 'Last-Event-ID', 'Cache-Control']

/** Response headers a browser client may read cross-origin (the poller needs both). */
export const CORS_EXPOSE_HEADERS: readonly string[] = ['ETag', 'Retry-After']

const ALLOW_METHODS = 'GET,HEAD,POST,OPTIONS'
const EXPOSE = CORS_EXPOSE_HEADERS.join(',')
const ALLOW_HEADERS = CORS_ALLOW_HEADERS.join(',')
/** What every response gets, whatever its origin. */
const NO_ORIGIN: Readonly<Record<string, string>> = Object.freeze({ 'access-control-expose-headers': EXPOSE, vary: 'Origin' })

/** Options of {@link corsMiddleware}. */
export interface CorsOptions {
  /**
   * How long browsers may cache a preflight answer, in seconds.
   * @default 600
   */
  maxAgeSec?: number
  /**
   * Reverse proxies trusted (their `X-Forwarded-Proto` gives the scheme of same-origin pages).
   * @default 0
   */
  trustProxyHops?: number
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The CORS headers of this response (set by {@link corsMiddleware}). */
    jobcastCors: Readonly<Record<string, string>>
  }
}

/** The CORS headers {@link corsMiddleware} chose for this request, for routes that write the Node response themselves. */
export function corsHeaders(c: Context): Readonly<Record<string, string>> | undefined {
  return c.get('jobcastCors')
}

/** The origin facts of a request: from the Node request when there is one, else from the web `Request`. */
function originOf(c: Context, incoming: IncomingMessage | undefined, trustProxyHops: number): RequestOrigin {
  if (incoming) return requestOriginOf(incoming, trustProxyHops)
  const headers = c.req.raw.headers
  return readRequestOrigin((name) => headers.get(name) ?? undefined, c.req.url.startsWith('https:'), trustProxyHops)
}

/**
 * A hono middleware answering preflights (`OPTIONS` → 204) and adding
 * `Access-Control-Allow-Origin` for allowed origins. A disallowed origin gets no CORS
 * headers at all, so the browser blocks the response. Every response carries
 * `Vary: Origin` and `Access-Control-Expose-Headers`.
 */
export function corsMiddleware(policy: OriginPolicy, options: CorsOptions = {}): MiddlewareHandler {
  const maxAge = String(options.maxAgeSec ?? 600)
  const trustProxyHops = options.trustProxyHops ?? 0
  return (c, next) => {
    const { incoming, outgoing } = nodeBindings(c)
    const allowed = allowedOrigin(policy, originOf(c, incoming, trustProxyHops))
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = {}
      if (allowed) headers['access-control-allow-origin'] = allowed
      headers['access-control-expose-headers'] = EXPOSE
      headers.vary = 'Origin, Access-Control-Request-Headers'
      headers['access-control-max-age'] = maxAge
      headers['access-control-allow-methods'] = ALLOW_METHODS
      headers['access-control-allow-headers'] = ALLOW_HEADERS
      return Promise.resolve(new Response(null, { status: 204, statusText: 'No Content', headers }))
    }
    const cors = corsFor(allowed)
    if (outgoing) {
      c.set('jobcastCors', cors)
      return next().then(() => {
        if (outgoing.headersSent) return
        for (const name in cors) outgoing.setHeader(name, cors[name] as string)
      })
    }
    // Without a Node response (app.request() in tests, other runtimes): add them to the result.
    return next().then(() => {
      const headers = c.res.headers
      if (allowed) headers.set('access-control-allow-origin', allowed)
      headers.set('access-control-expose-headers', EXPOSE)
      headers.append('vary', 'Origin')
    })
  }
}

/**
 * The `Access-Control-Allow-Origin` value for a request's `Origin`, or null when none was
 * sent or it is not allowed.
 */
export function allowedOrigin(policy: OriginPolicy, request: RequestOrigin): string | null {
  const origin = request.origin
  if (origin === undefined || origin === '') return null
  if (policy.any) return '*'
  return policy.allows(origin, request) ? origin : null
}

/** The CORS headers of a non-preflight response, given {@link allowedOrigin}'s answer. */
export function corsFor(allowed: string | null): Readonly<Record<string, string>> {
  return allowed ? { 'access-control-allow-origin': allowed, ...NO_ORIGIN } : NO_ORIGIN
}
