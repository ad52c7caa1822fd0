/**
 * The one admission decision for every browser-facing entry: polling requests, SSE streams
 * and WebSocket upgrades. Given what a request is (its kind, client IP, origin facts and how
 * many jobs it opens), it answers with the CORS headers to send and the slot to release,
 * or with the refusal to send. Pure bookkeeping on counters and buckets: no sockets, no I/O;
 * the HTTP middleware (http-admission.ts) and the upgrade check (security-hooks.ts) read the
 * request and apply the answer.
 */
import type { ErrorCode } from '../protocol.js'
import type { ConnectionCounter } from './connection-counter.js'
import { allowedOrigin, corsFor } from './cors.js'
import type { OriginPolicy } from './origin-policy.js'
import type { RateDecision, RateLimiter } from './rate-limiter.js'
import type { RequestOrigin } from './request-origin.js'

/** What is being opened: a status request, an SSE stream, a WebSocket, or any other HTTP request (CORS only). */
export type AdmissionKind = 'poll' | 'sse' | 'websocket' | 'other'

/** A request as admission sees it. */
export interface AdmissionRequest extends RequestOrigin {
  readonly kind: AdmissionKind
  /** The address per-IP limits count (client-ip.ts); undefined when there is no trustworthy one (`app.request()`). */
  readonly ip: string | undefined
  /** Subscriptions the request opens (jobs of an SSE stream). @default 1 */
  readonly jobs?: number
}

/** The answer of {@link Admission.admit}. */
export type AdmissionDecision =
  | {
      readonly ok: true
      /** CORS headers for the response (HTTP). */
      readonly cors: Readonly<Record<string, string>>
      /** Gives the connection slot back: call exactly once when the stream or socket ends. */
      readonly release: () => void
      /** WebSocket: asked before each `subscribe` of this socket (the per-IP subscription rate). */
      readonly admitSubscribe?: () => RateDecision
    }
  | {
      readonly ok: false
      readonly status: 403 | 429
      readonly code: Extract<ErrorCode, 'forbidden' | 'rate_limited' | 'too_many_connections'>
      readonly message: string
      /** `Retry-After` and the CORS headers. */
      readonly headers: Readonly<Record<string, string>>
    }

/** The decision's state: the origin list, counters and buckets of one gateway. */
export interface AdmissionState {
  readonly origins: OriginPolicy
  readonly wsConnections: ConnectionCounter
  readonly sseConnections: ConnectionCounter
  /** Status requests per IP; undefined when unlimited. */
  readonly polls: RateLimiter | undefined
  /** Subscriptions per IP (WebSocket `subscribe` frames, SSE jobs); undefined when unlimited. */
  readonly subscribes: RateLimiter | undefined
}

/** Decides admissions against one gateway's limits. */
export interface Admission {
  admit(request: AdmissionRequest): AdmissionDecision
}

const NOTHING_TO_RELEASE = (): void => {}

const POLL_ADVICE = 'too many status requests from this address: wait {s} s (Retry-After), poll less often, or use SSE/WebSocket; the limit is --poll-rate'
const SUBSCRIBE_ADVICE =
  'too many subscriptions from this address: wait {s} s (Retry-After) and keep streams open instead of reopening them; the limit is --subscribe-rate'

/** The refusal of a rate-limited request (`advice` names the limit; `{s}` becomes the wait). */
function rateLimited(advice: string, retryAfterSec: number, cors: Readonly<Record<string, string>>): AdmissionDecision {
  const message = `[jobcast] ${advice.replace('{s}', String(retryAfterSec))}`
  return { ok: false, status: 429, code: 'rate_limited', message, headers: { 'retry-after': String(retryAfterSec), ...cors } }
}

function tooManyConnections(message: string, cors: Readonly<Record<string, string>>): AdmissionDecision {
  return { ok: false, status: 429, code: 'too_many_connections', message, headers: { 'retry-after': '1', ...cors } }
}

/** A release that gives `ip`'s slot back once, however often it is called. */
function releaseOnce(counter: ConnectionCounter, ip: string): () => void {
  let released = false
  return () => {
    if (released) return
    released = true
    counter.release(ip)
  }
}

/** Creates the decision over `state`. */
export function createAdmission(state: AdmissionState): Admission {
  return {
    admit(request) {
      const allowed = allowedOrigin(state.origins, request)
      const cors = corsFor(allowed)
      const ip = request.ip
      switch (request.kind) {
        case 'other':
          return { ok: true, cors, release: NOTHING_TO_RELEASE }
        case 'poll': {
          const rate = ip === undefined ? undefined : state.polls?.take(ip)
          if (rate && !rate.ok) return rateLimited(POLL_ADVICE, rate.retryAfterSec, cors)
          return { ok: true, cors, release: NOTHING_TO_RELEASE }
        }
        case 'sse': {
          // Browsers apply CORS to EventSource themselves: a foreign page gets no CORS headers and cannot read the stream.
          if (ip === undefined) return { ok: true, cors, release: NOTHING_TO_RELEASE }
          const rate = state.subscribes?.take(ip, request.jobs ?? 1)
          if (rate && !rate.ok) return rateLimited(SUBSCRIBE_ADVICE, rate.retryAfterSec, cors)
          if (!state.sseConnections.tryAcquire(ip)) {
            return tooManyConnections('[jobcast] too many event streams from this address: close some, use one /v1/events stream for many jobs, or raise --max-sse-per-ip', cors)
          }
          return { ok: true, cors, release: releaseOnce(state.sseConnections, ip) }
        }
        case 'websocket': {
          // Browsers do not apply CORS to WebSockets: the origin is checked here (cross-site WebSocket hijacking).
          if (!state.origins.allows(request.origin, request)) {
            const message = `[jobcast] WebSocket origin ${JSON.stringify(request.origin?.slice(0, 200))} is not allowed: add it with --cors-origin`
            return { ok: false, status: 403, code: 'forbidden', message, headers: {} }
          }
          if (ip === undefined) return { ok: true, cors, release: NOTHING_TO_RELEASE }
          if (!state.wsConnections.tryAcquire(ip)) {
            return tooManyConnections('[jobcast] too many connections from this address: close idle sockets (one socket carries many jobs) or raise --max-connections-per-ip', {})
          }
          const subscribes = state.subscribes
          return {
            ok: true,
            cors,
            release: releaseOnce(state.wsConnections, ip),
            ...(subscribes !== undefined && { admitSubscribe: () => subscribes.take(ip) }),
          }
        }
      }
    },
  }
}
