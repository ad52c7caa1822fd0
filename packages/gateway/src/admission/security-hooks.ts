/**
 * Turns the browser-facing security settings into the gateway's hooks, all backed by one
 * admission decision (admission.ts): `beforeRoutes` (CORS, polling rate, SSE subscription
 * rate and streams per IP), `checkUpgrade` (origin allow-list, connections per IP and the
 * subscription rate for WebSockets) and `admitSocket` (TCP connections per IP and in total).
 * `createGateway()` applies them by default (its `security` option); spread them yourself
 * (`createGateway({ ...createSecurityHooks(options), authorizer })`) to share them.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Hono } from 'hono'
import { createAdmission, type Admission, type AdmissionDecision, type AdmissionKind } from './admission.js'
import { createConnectionCounter, type ConnectionCounter } from './connection-counter.js'
import { admissionMiddleware } from './http-admission.js'
import { createOriginPolicy, type OriginPolicy } from './origin-policy.js'
import { createRateLimiter, type RateLimiter } from './rate-limiter.js'
import { nodeRequestFacts } from './request-origin.js'
import { createSocketGuard } from './socket-guard.js'

/** Browser-facing limits. Every field has the CLI's default. */
export interface SecurityOptions {
  /**
   * Allowed browser origins for CORS and WebSocket upgrades (see origin-policy.ts for the forms).
   * Pages served by the gateway itself and non-browser clients are always allowed.
   * @default [] (same host only)
   */
  corsOrigins?: readonly string[]
  /**
   * Simultaneous WebSocket connections per client IP. `0` = unlimited.
   * @default 64
   */
  maxConnectionsPerIp?: number
  /**
   * Simultaneous SSE streams per client IP. `0` = unlimited.
   * @default 32
   */
  maxSsePerIp?: number
  /**
   * Sustained `GET /v1/jobs/:id` requests per second per client IP. `0` = unlimited.
   * @default 20
   */
  pollRatePerSec?: number
  /**
   * Requests a client IP may make at once on the polling route (token bucket size).
   * @default 40
   */
  pollBurst?: number
  /**
   * Sustained subscriptions per second per client IP: WebSocket `subscribe` frames plus SSE
   * stream opens (a multi-job stream counts one per job). Every subscription reads a snapshot,
   * so without it subscribe/unsubscribe in a loop would be polling around `--poll-rate`.
   * `0` = unlimited.
   * @default 50
   */
  subscribeRatePerSec?: number
  /**
   * Subscriptions a client IP may make at once (a page opening many jobs).
   * @default 500
   */
  subscribeBurst?: number
  /**
   * Simultaneous TCP connections per client IP, counted from the moment a socket is accepted
   * (idle and keep-alive sockets, SSE streams and WebSockets alike), so one address cannot
   * hold every file descriptor. Keep it above `maxConnectionsPerIp + maxSsePerIp`. Not
   * applied behind a trusted proxy (`trustProxyHops > 0`): every socket then comes from the
   * proxy, which must limit its clients itself. `0` = unlimited.
   * @default 128
   */
  maxSocketsPerIp?: number
  /**
   * Simultaneous TCP connections in total; more are closed on arrival. Keep it below the
   * process's file descriptor limit (`ulimit -n`). `0` = unlimited.
   * @default 10000
   */
  maxSockets?: number
  /**
   * Reverse proxies in front of the gateway whose `X-Forwarded-For` entries are trusted for the client IP.
   * @default 0 (the header is ignored: it is trivially forged)
   */
  trustProxyHops?: number
}

/** The defaults of {@link SecurityOptions}. */
export const DEFAULT_SECURITY = Object.freeze({
  corsOrigins: [] as readonly string[],
  maxConnectionsPerIp: 64,
  maxSsePerIp: 32,
  maxSocketsPerIp: 128,
  maxSockets: 10_000,
  pollRatePerSec: 20,
  pollBurst: 40,
  subscribeRatePerSec: 50,
  subscribeBurst: 500,
  trustProxyHops: 0,
})

/** The hooks {@link createSecurityHooks} returns, shaped like the matching gateway options. */
export interface SecurityHooks {
  /** The compiled origin allow-list (CORS and WebSocket upgrades). */
  readonly origins: OriginPolicy
  /** The decision every hook asks. */
  readonly admission: Admission
  /** WebSocket connections per IP (exposed for tests and metrics). */
  readonly wsConnections: ConnectionCounter
  /** SSE streams per IP. */
  readonly sseConnections: ConnectionCounter
  /** TCP connections per IP and in total. */
  readonly sockets: ConnectionCounter
  /** TCP connections closed on arrival because a cap was reached. */
  readonly refusedSockets: number
  /** The server `connection` listener enforcing `maxSocketsPerIp` and `maxSockets`. */
  admitSocket(socket: Socket): void
  /** Registers the HTTP admission (CORS, polling rate, SSE rate and streams per IP) on the app. */
  beforeRoutes(app: Hono): void
  /** The WebSocket upgrade check: origin allow-list, then connections per IP. */
  checkUpgrade(req: IncomingMessage): AdmissionDecision
  /** The admission of a Node request, its client IP and origin read from it (SSE at the server's edge, upgrades). */
  admitNode(req: IncomingMessage, kind: AdmissionKind, jobs?: number): AdmissionDecision
}

/** A rate of `0` (or a non-finite one) turns a limit off: then no bucket is kept or asked. */
function limiterFor(ratePerSec: number, burst: number): RateLimiter | undefined {
  return ratePerSec > 0 && Number.isFinite(ratePerSec) ? createRateLimiter({ ratePerSec, burst }) : undefined
}

/** Builds the hooks; throws a `[jobcast]` error on a malformed origin. */
export function createSecurityHooks(options: SecurityOptions = {}): SecurityHooks {
  const o = { ...DEFAULT_SECURITY, ...stripUndefined(options) }
  const origins = createOriginPolicy(o.corsOrigins)
  const wsConnections = createConnectionCounter({ maxPerIp: o.maxConnectionsPerIp })
  const sseConnections = createConnectionCounter({ maxPerIp: o.maxSsePerIp })
  const socketGuard = createSocketGuard({ maxPerIp: o.trustProxyHops > 0 ? 0 : o.maxSocketsPerIp, maxTotal: o.maxSockets })
  const admission = createAdmission({
    origins,
    wsConnections,
    sseConnections,
    polls: limiterFor(o.pollRatePerSec, o.pollBurst),
    subscribes: limiterFor(o.subscribeRatePerSec, o.subscribeBurst),
  })
  const trustProxyHops = o.trustProxyHops
  const admitNode = (req: IncomingMessage, kind: AdmissionKind, jobs?: number): AdmissionDecision =>
    admission.admit({ ...nodeRequestFacts(req, trustProxyHops), kind, jobs })
  return {
    origins,
    admission,
    wsConnections,
    sseConnections,
    sockets: socketGuard.sockets,
    get refusedSockets() {
      return socketGuard.refused
    },
    admitSocket: socketGuard.admit,
    beforeRoutes(app) {
      app.use('*', admissionMiddleware(admission, { trustProxyHops }))
    },
    checkUpgrade: (req) => admitNode(req, 'websocket'),
    admitNode,
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
