/**
 * A complete gateway: bus, hub, HTTP app and WebSocket endpoint, listening on its own server
 * or attached to yours, with a bounded graceful shutdown.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import type { Hono } from 'hono'
import { createApp } from './app.js'
import type { Authorizer } from './auth/authorizer.js'
import { createJwtAuthorizer } from './auth/jwt-authorizer.js'
import type { Bus } from './bus/bus.js'
import { DEFAULT_CONFIG } from './config.js'
import { JobcastError } from './errors.js'
import { createGatewayBus } from './gateway-bus.js'
import { JobHub } from './hub.js'
import { createSecurityHooks, type SecurityHooks, type SecurityOptions } from './admission/security-hooks.js'
import { createBullmqBridge, type GatewayBullmqOptions } from './bullmq/bullmq-bridge.js'
import { createOwnServer } from './own-server.js'
import { ConnectionRegistry } from './registry.js'
import { createSseEdge } from './routes/events-sse.js'
import { serversClosed } from './servers-closed.js'
import { createSseRouteDeps, type SseRouteSettings } from './sse/resolve-sse.js'
import { WsServer, type UpgradeCheck } from './ws/server.js'

/** Passed to route hooks so they can publish or watch. */
export interface GatewayContext {
  /** The gateway's bus (a publisher can be built on it: `createPublisher({ bus })`). */
  readonly bus: Bus
  /** The gateway's hub. */
  readonly hub: JobHub
}

/** Options of {@link createGateway}. Every limit has the same default as the CLI. */
export interface GatewayOptions {
  /** Use this bus (not closed by `close()`). @default a RedisBus when `redisUrl`, `cluster` or `sentinels` is set, else an in-memory bus */
  bus?: Bus
  /** Redis URL (`rediss://` for TLS); absent (and no `cluster`, `sentinels` or `bus`) → embedded in-memory bus. @default undefined */
  redisUrl?: string
  /** Redis Cluster nodes as `host:port` (some suffice; the rest are discovered), instead of `redisUrl`. Redis ≥ 7.0. @default undefined */
  cluster?: readonly string[]
  /** Sentinels as `host:port`, instead of `redisUrl`; needs `sentinelName`. @default undefined */
  sentinels?: readonly string[]
  /** The master name the sentinels monitor (`sentinel monitor <name> …`). @default undefined */
  sentinelName?: string
  /** Password of the sentinels themselves, when they require one. @default undefined */
  sentinelPassword?: string
  /** Redis ACL user, for every topology. @default undefined (the `default` user) */
  redisUsername?: string
  /** Redis password, for every topology. Never logged. @default undefined */
  redisPassword?: string
  /** TLS to Redis (and sentinels): `true` or `tls.connect()` options. @default false (a `rediss://` URL turns it on) */
  redisTls?: boolean | ConnectionOptions
  /**
   * Receives Redis connection errors (while Redis is down ioredis retries without end), at
   * most one line every 10 s. The CLI passes `console.error`. @default undefined (not logged)
   */
  onRedisError?: (line: string) => void
  /** Redis key and channel prefix. @default 'jobcast:' */
  prefix?: string
  /** Snapshot TTL, seconds. @default 86400 */
  ttlSeconds?: number
  /**
   * Who may see which job. Required: secured mode is the default, so there is no silent
   * fallback. Pass `createJwtAuthorizer({ secret })` (or `publicKey`/`jwksFile`), or, for
   * local development only, `openAuthorizer` (every request allowed; warned about once).
   * @example createGateway({ authorizer: createJwtAuthorizer({ secret: process.env.JOBCAST_SECRET }) })
   */
  authorizer: Authorizer
  /**
   * Print the open-mode warning (once per process) when `authorizer` is open. The CLI prints
   * its own framed banner and turns this off; so do test harnesses.
   * @default true
   */
  warnOpenMode?: boolean
  /**
   * Hook run on every WebSocket upgrade (origin allow-list, per-IP limits). Giving it means you
   * wired the browser-facing limits yourself (`...createSecurityHooks(options)`), so `security`
   * is then not applied.
   * @default the upgrade check of `security`
   */
  checkUpgrade?: UpgradeCheck
  /**
   * Listener run on every TCP connection the server accepts (caps per IP and in total, before
   * any request). Like `checkUpgrade`, it comes with `...createSecurityHooks(options)`.
   * @default the socket caps of `security`
   */
  admitSocket?: (socket: Socket) => void
  /**
   * Browser-facing limits (CORS and WebSocket origin allow-list, connections and SSE streams
   * per IP, polling rate), with the CLI's defaults, so a library gateway is as hard to abuse as
   * the CLI one. `false` turns them off (tests, or limits enforced in front of the gateway).
   * Ignored when `checkUpgrade` is given. Hooks already built with `createSecurityHooks()` are
   * accepted too (to share their counters).
   * @default {} (every limit at its default: see DEFAULT_SECURITY)
   */
  security?: SecurityOptions | SecurityHooks | false
  /** SSE heartbeat interval, ms. @default 15000 */
  heartbeatMs?: number
  /** SSE `retry:` value, ms. @default 2000 */
  sseRetryMs?: number
  /** WebSocket ping interval, ms. @default 30000 */
  wsPingIntervalMs?: number
  /** Max jobs per WebSocket. @default 100 */
  maxSubscriptions?: number
  /** Max inbound WebSocket frame, bytes. @default 16384 */
  maxFrameBytes?: number
  /** Max unsent bytes per connection before it is closed as a slow consumer. @default 1048576 */
  maxBufferedBytes?: number
  /** Max jobs per `/v1/events` stream. @default 100 */
  maxJobsPerStream?: number
  /**
   * Turns on HTTP ingest (`POST /v1/jobs/:id/events`) for producers without Redis access: the
   * HS256 secret of producer tokens (JWTs whose `publish` claim lists job ids and patterns).
   * Never the browsers' secret: a job token must not be able to publish.
   * @default undefined (ingest off)
   */
  producerSecret?: string
  /** `Retry-After` on polling while a job runs, seconds. @default 1 */
  pollRetryAfterSeconds?: number
  /**
   * Time a connection has to deliver a complete request (headers and body), ms, on the server
   * `listen()` creates; a socket that sends nothing is closed after it too. It ends when the
   * request is received, so SSE streams and WebSockets live on. An `attach()`ed server keeps
   * its own `headersTimeout` and `requestTimeout`. `0` keeps Node's defaults (60 s for the
   * headers, 300 s for the request, silent sockets never closed).
   * @default 5000
   */
  requestTimeoutMs?: number
  /** Bound on `close()`, ms: past it remaining sockets are destroyed. @default 5000 */
  shutdownTimeoutMs?: number
  /**
   * Your own middleware, added before the routes (after those of `security`). Without it the
   * gateway's own server hands SSE requests to the SSE route before hono (the same route code
   * and admission, less memory per idle stream: bench/README.md); with it, SSE goes through
   * hono too, so your middleware sees every request.
   * @default none
   */
  beforeRoutes?: (app: Hono, context: GatewayContext) => void
  /** Extra routes (demo), added before the 404 fallback. @default none */
  extraRoutes?: (app: Hono, context: GatewayContext) => void
  /**
   * Publish the events of these BullMQ queues' jobs on this gateway's bus (docs/bullmq.md).
   * BullMQ's Redis is `bullmq.url` (or `bullmq.redis`), else `redisUrl`. Closed with the gateway.
   * @default undefined (no bridge)
   * @example bullmq: { queues: ['exports'] } // pages wait for 'exports:<BullMQ job id>'
   */
  bullmq?: GatewayBullmqOptions
}

/** A running (or ready to run) gateway. */
export interface Gateway {
  /** The hono app (mountable elsewhere; WebSockets need {@link Gateway.handleUpgrade}). */
  readonly app: Hono
  /** The bus events come from (`publish()` on it to drive jobs in embedded mode). */
  readonly bus: Bus
  /** The hub every transport watches jobs through. */
  readonly hub: JobHub
  /** Listen on its own HTTP server. @default port 3030, host 127.0.0.1 */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>
  /** Serve HTTP and WebSocket on an existing server created without a request listener (`http.createServer()`). */
  attach(server: Server): void
  /** The `upgrade` handler, for servers that route upgrades themselves. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /**
   * Graceful shutdown: refuse new connections, close WebSockets with 1012, end SSE streams,
   * close the servers and an owned bus, all within `shutdownTimeoutMs`. Idempotent.
   */
  close(): Promise<void>
}

/** The message thrown by {@link createGateway} when no authorizer is given. */
export const MISSING_AUTHORIZER_MESSAGE =
  '[jobcast] createGateway() needs an authorizer (secured mode is the default): pass ' +
  '`authorizer: createJwtAuthorizer({ secret })` (or publicKey / jwksFile) and mint tokens with signJobToken(), ' +
  'or, for local development only, `authorizer: openAuthorizer`. See docs/security.md.'

/** Printed once per process when a gateway is built with an open authorizer. */
export const LIBRARY_OPEN_MODE_WARNING =
  "[jobcast] WARNING: open mode (authorizer: openAuthorizer) — every client may read every job's events without a token. " +
  'Use it only for local development; secure it with createJwtAuthorizer({ secret }) and signJobToken(): see docs/security.md.'

let openModeWarned = false

/**
 * Build a gateway. Nothing listens until `listen()` or `attach()`.
 * @throws JobcastError `invalid_config` when `options.authorizer` is missing
 */
export function createGateway(options: GatewayOptions): Gateway {
  // Checked at run time too: JavaScript callers get no type error, and open must never be implicit.
  const authorizer: Authorizer | undefined = (options as Partial<GatewayOptions> | undefined)?.authorizer
  if (authorizer === undefined || typeof authorizer.authorize !== 'function') {
    throw new JobcastError('invalid_config', MISSING_AUTHORIZER_MESSAGE)
  }
  if (authorizer.open && options.warnOpenMode !== false && !openModeWarned) {
    openModeWarned = true
    console.warn(LIBRARY_OPEN_MODE_WARNING)
  }
  // Before the bus: a malformed origin must throw before any connection is opened.
  const security = options.checkUpgrade === undefined && options.security !== false ? securityHooks(options.security) : undefined
  // Also before the bus, so a refused configuration leaves no connection behind.
  const busIsGroup = options.bus === undefined && (options.cluster !== undefined || options.sentinels !== undefined)
  if (options.bullmq && options.bullmq.url === undefined && options.bullmq.redis === undefined && busIsGroup) {
    throw new JobcastError('invalid_config', '[jobcast] the BullMQ bridge reads one Redis server, not a cluster or sentinel group: give bullmq.url (the Redis BullMQ uses)')
  }
  const { bus, owned: ownBus } = createGatewayBus(options)
  const hub = new JobHub(bus)
  const bridge = options.bullmq && createBullmqBridge({ url: options.redisUrl, ...options.bullmq, prefix: options.prefix, bus })
  const context: GatewayContext = { bus, hub }
  const registry = new ConnectionRegistry()
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_CONFIG.maxBufferedBytes
  const sseSettings: SseRouteSettings = {
    hub,
    authorizer,
    registry,
    heartbeatMs: options.heartbeatMs,
    sseRetryMs: options.sseRetryMs,
    maxBufferedBytes,
    maxJobsPerStream: options.maxJobsPerStream,
  }
  // One set of SSE settings and one heartbeat timer for both ways to the SSE route.
  const sse = createSseRouteDeps(sseSettings)
  const app = createApp({
    ...sseSettings,
    sse,
    hub,
    pollRetryAfterSeconds: options.pollRetryAfterSeconds,
    ...(options.producerSecret !== undefined && {
      ingest: { bus, authorizer: createJwtAuthorizer({ secret: options.producerSecret, claim: 'publish' }) },
    }),
    beforeRoutes: (a) => {
      security?.beforeRoutes(a)
      options.beforeRoutes?.(a, context)
    },
    extraRoutes: options.extraRoutes && ((a) => options.extraRoutes?.(a, context)),
  })
  const ws = new WsServer({
    hub,
    authorizer,
    registry,
    maxSubscriptions: options.maxSubscriptions ?? DEFAULT_CONFIG.maxSubscriptions,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_CONFIG.maxFrameBytes,
    maxBufferedBytes,
    pingIntervalMs: options.wsPingIntervalMs ?? DEFAULT_CONFIG.wsPingIntervalMs,
    checkUpgrade: options.checkUpgrade ?? security?.checkUpgrade,
  })
  const honoListener = getRequestListener(app.fetch)
  // SSE requests reach the same route code from the server's edge (events-sse.ts), unless
  // middleware of the caller's must see every request.
  const sseEdge = options.beforeRoutes === undefined ? createSseEdge(sse, security?.admitNode) : undefined
  const listener = sseEdge
    ? (req: IncomingMessage, res: ServerResponse): void => {
        if (!sseEdge(req, res)) void honoListener(req, res)
      }
    : honoListener
  const servers = new Set<Server>()
  let closing: Promise<void> | undefined

  const admitSocket = options.admitSocket ?? security?.admitSocket
  const attach = (server: Server): void => {
    servers.add(server)
    if (admitSocket) server.on('connection', admitSocket)
    server.on('request', listener)
    server.on('upgrade', ws.handleUpgrade)
  }

  const shutdown = async (): Promise<void> => {
    registry.shutdownAll()
    ws.close()
    await serversClosed(servers, options.shutdownTimeoutMs ?? DEFAULT_CONFIG.shutdownTimeoutMs)
    // Whatever did not end in time (a peer that never acknowledges the close) is cut.
    ws.terminateAll()
    for (const server of servers) server.closeAllConnections()
    await bridge?.close()
    hub.close()
    if (ownBus) await bus.close()
  }

  return {
    app,
    bus,
    hub,
    attach,
    handleUpgrade: ws.handleUpgrade,
    listen(port = 3030, host = '127.0.0.1') {
      const server = createOwnServer(options.requestTimeoutMs ?? DEFAULT_CONFIG.requestTimeoutMs)
      attach(server)
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
          resolve({ port: address.port, url: `http://${shown}:${address.port}` })
        })
      })
    },
    close() {
      closing ??= shutdown()
      return closing
    },
  }
}

/** Hooks from options, or the hooks given (`'checkUpgrade' in`: built by createSecurityHooks). */
function securityHooks(security: SecurityOptions | SecurityHooks | undefined): SecurityHooks {
  if (security !== undefined && 'checkUpgrade' in security) return security
  return createSecurityHooks(security ?? {})
}
