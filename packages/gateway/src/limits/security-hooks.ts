/**
 * Turns the browser-facing security settings into the gateway's hooks: `beforeRoutes`
 * (CORS, polling rate limit, SSE streams per IP), `checkUpgrade` (origin allow-list and
 * connections per IP for WebSockets) and `admitSocket` (TCP connections per IP and in
 * total). `createGateway()` applies them by default (its `security` option); spread them
 * yourself (`createGateway({ ...createSecurityHooks(options), authorizer })`) to share them.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Hono } from 'hono'
import { clientIpOf } from './client-ip.js'
import { createConnectionCounter, type ConnectionCounter } from './connection-counter.js'
import { corsMiddleware } from './cors.js'
import { connectionLimitMiddleware, rateLimitMiddleware, type RateLimitRoute } from './http-guards.js'
import { createOriginPolicy, type OriginPolicy } from './origin-policy.js'
import { createRateLimiter } from './rate-limiter.js'
import { requestOriginOf } from './request-origin.js'
import { createSocketGuard } from './socket-guard.js'
import { createUpgradeGuard, type UpgradeDecision } from './upgrade-guard.js'
import type { WsUpgradeDecision } from '../ws/server.js'

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
  /** Registers CORS, the polling rate limit and the SSE-streams-per-IP cap on the app. */
  beforeRoutes(app: Hono): void
  /** The WebSocket upgrade check: origin allow-list, then connections per IP. */
  checkUpgrade(req: IncomingMessage): UpgradeDecision & WsUpgradeDecision
}

/** Builds the hooks; throws a `[jobcast]` error on a malformed origin. */
export function createSecurityHooks(options: SecurityOptions = {}): SecurityHooks {
  const o = { ...DEFAULT_SECURITY, ...stripUndefined(options) }
  const origins = createOriginPolicy(o.corsOrigins)
  const wsConnections = createConnectionCounter({ maxPerIp: o.maxConnectionsPerIp })
  const sseConnections = createConnectionCounter({ maxPerIp: o.maxSsePerIp })
  const socketGuard = createSocketGuard({ maxPerIp: o.trustProxyHops > 0 ? 0 : o.maxSocketsPerIp, maxTotal: o.maxSockets })
  const limiter = createRateLimiter({ ratePerSec: o.pollRatePerSec, burst: o.pollBurst })
  const subscribes = createRateLimiter({ ratePerSec: o.subscribeRatePerSec, burst: o.subscribeBurst })
  const subscribeLimited = o.subscribeRatePerSec > 0 && Number.isFinite(o.subscribeRatePerSec)
  const guard = createUpgradeGuard({ origins, connections: wsConnections })
  const subscribeRoute: RateLimitRoute = {
    advice: 'too many subscriptions from this address: wait {s} s (Retry-After) and keep streams open instead of reopening them; the limit is --subscribe-rate',
  }
  return {
    origins,
    wsConnections,
    sseConnections,
    sockets: socketGuard.sockets,
    get refusedSockets() {
      return socketGuard.refused
    },
    admitSocket: socketGuard.admit,
    beforeRoutes(app) {
      app.use('*', corsMiddleware(origins, { trustProxyHops: o.trustProxyHops }))
      // `--poll-rate 0` turns limiting off: then the polling route runs no middleware of its own.
      if (o.pollRatePerSec > 0 && Number.isFinite(o.pollRatePerSec)) app.use('/v1/jobs/:id', rateLimitMiddleware(limiter, o.trustProxyHops))
      const sse = connectionLimitMiddleware(sseConnections, o.trustProxyHops)
      app.use('/v1/jobs/:id/events', rateLimitMiddleware(subscribes, o.trustProxyHops, subscribeRoute), sse)
      app.use('/v1/events', rateLimitMiddleware(subscribes, o.trustProxyHops, { ...subscribeRoute, cost: (c) => c.req.queries('id')?.length ?? 1 }), sse)
    },
    checkUpgrade: (req) => {
      const decision = guard({ ...requestOriginOf(req, o.trustProxyHops), ip: clientIpOf(req, o.trustProxyHops) })
      // `--subscribe-rate 0`: no per-socket admit closure to keep for the socket's lifetime.
      if (!decision.ok || !subscribeLimited) return decision
      const ip = decision.ip
      return { ...decision, admitSubscribe: () => subscribes.take(ip) }
    },
  }
}

/**
 * Parses `--poll-rate`: `<per-second>` or `<per-second>:<burst>` (`20`, `5:10`, `0.5:3`, `0` = off).
 * Throws a `[jobcast]` error otherwise.
 */
export function parsePollRate(text: string): { pollRatePerSec: number; pollBurst: number } {
  const { rate, burst } = parseRate(text, '--poll-rate', '20:40')
  return { pollRatePerSec: rate, pollBurst: burst }
}

/** Parses `--subscribe-rate` like {@link parsePollRate} (`50`, `50:500`, `0` = off). */
export function parseSubscribeRate(text: string): { subscribeRatePerSec: number; subscribeBurst: number } {
  const { rate, burst } = parseRate(text, '--subscribe-rate', '50:500')
  return { subscribeRatePerSec: rate, subscribeBurst: burst }
}

function parseRate(text: string, flag: string, example: string): { rate: number; burst: number } {
  const match = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text.trim())
  if (match === null) throw new Error(`[jobcast] ${flag} "${text}" is not a rate: use <per second>[:<burst>], e.g. ${example}`)
  const rate = Number(match[1])
  return { rate, burst: match[2] === undefined ? Math.max(1, Math.ceil(rate * 2)) : Number(match[2]) }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
