/**
 * The CORS headers of a response, from the same {@link OriginPolicy} that guards WebSocket
 * upgrades (admission.ts decides, http-admission.ts sends them). Tokens travel in
 * `Authorization`, so the preflight must allow that header; credentials (cookies) are never
 * allowed: jobcast does not use them.
 */
import type { OriginPolicy } from './origin-policy.js'
import type { RequestOrigin } from './request-origin.js'

/** Request headers a browser client may send cross-origin. */
export const CORS_ALLOW_HEADERS: readonly string[] = ['Authorization', 'Content-Type', 'If-None-Match', 'Last-Event-ID', 'Cache-Control']

/** Response headers a browser client may read cross-origin (the poller needs both). */
export const CORS_EXPOSE_HEADERS: readonly string[] = ['ETag', 'Retry-After']

const EXPOSE = CORS_EXPOSE_HEADERS.join(',')
/** What every response gets, whatever its origin. */
const NO_ORIGIN: Readonly<Record<string, string>> = Object.freeze({ 'access-control-expose-headers': EXPOSE, vary: 'Origin' })

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
