/**
 * CORS for the gateway's HTTP routes, driven by the same {@link OriginPolicy} that
 * guards WebSocket upgrades. Tokens travel in `Authorization`, so the preflight must
 * allow that header; credentials (cookies) are never allowed: jobcast does not use them.
 */
import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { OriginPolicy } from './origin-policy.js'

/** Request headers a browser client may send cross-origin. */
export const CORS_ALLOW_HEADERS: readonly string[] = ['Authorization', 'Content-Type', 'If-None-Match', 'Last-Event-ID', 'Cache-Control']

/** Response headers a browser client may read cross-origin (the poller needs both). */
export const CORS_EXPOSE_HEADERS: readonly string[] = ['ETag', 'Retry-After']

/** Options of {@link corsMiddleware}. */
export interface CorsOptions {
  /**
   * How long browsers may cache a preflight answer, in seconds.
   * @default 600
   */
  maxAgeSec?: number
}

/**
 * A hono middleware answering preflights (`OPTIONS` → 204) and adding
 * `Access-Control-Allow-Origin` for allowed origins. A disallowed origin gets no CORS
 * headers at all, so the browser blocks the response.
 */
export function corsMiddleware(policy: OriginPolicy, options: CorsOptions = {}): MiddlewareHandler {
  return cors({
    origin: (origin, c) => {
      if (origin === '') return null
      if (policy.any) return '*'
      return policy.allows(origin, c.req.header('host')) ? origin : null
    },
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowHeaders: [...CORS_ALLOW_HEADERS],
    exposeHeaders: [...CORS_EXPOSE_HEADERS],
    maxAge: options.maxAgeSec ?? 600,
    credentials: false,
  })
}
