/**
 * The gateway's HTTP surface as a hono app, built without listening (see create-gateway.ts
 * for the server), so every route is testable with `app.request()` and mountable elsewhere.
 */
import { Hono } from 'hono'
import type { Authorizer } from './auth/authorizer.js'
import { publicError } from './public-error.js'
import type { JobHub } from './hub.js'
import { ConnectionRegistry } from './registry.js'
import { sseRoute } from './routes/events-sse.js'
import { healthz, readyz } from './routes/health.js'
import { createIngestHandler, type IngestDeps } from './routes/ingest.js'
import { errorResponse, statusForCode } from './http-error.js'
import { jobStatusHandler } from './routes/status.js'
import { createSseRouteDeps, type SseRouteDeps } from './sse/resolve-sse.js'

/** What {@link createApp} needs. */
export interface AppDeps {
  /** Watches and reads jobs (its bus answers `/readyz`). */
  hub: Pick<JobHub, 'watch' | 'get' | 'bus'>
  /** Who may see which job. Required (no silent open mode): `openAuthorizer` only for local development. */
  authorizer: Authorizer
  /** Live SSE streams, ended on shutdown. @default a new registry */
  registry?: ConnectionRegistry
  /** SSE heartbeat comment interval, ms. @default 15000 */
  heartbeatMs?: number
  /** SSE `retry:` value, ms. @default 2000 */
  sseRetryMs?: number
  /** Unread bytes after which an SSE stream is dropped as a slow consumer. @default 1048576 */
  maxBufferedBytes?: number
  /** Max jobs on one `/v1/events` stream. @default 100 */
  maxJobsPerStream?: number
  /**
   * The SSE route's settings and heartbeat timer, when another entry to the route shares them
   * (the gateway's own server). @default built from the fields above
   */
  sse?: SseRouteDeps
  /** `Retry-After` hint on `GET /v1/jobs/:id` while the job runs, seconds. @default 1 */
  pollRetryAfterSeconds?: number
  /**
   * HTTP ingest, `POST /v1/jobs/:id/events`, for producers without Redis access; off when absent.
   * @default undefined (off)
   */
  ingest?: IngestDeps
  /**
   * Middleware registered before every route (CORS, rate limits).
   * @default none
   */
  beforeRoutes?: (app: Hono) => void
  /**
   * Extra routes (demo page, demo jobs), registered before the 404 fallback.
   * @default none
   */
  extraRoutes?: (app: Hono) => void
}

function methodNotAllowed(allow: string): Response {
  return errorResponse(405, 'method_not_allowed', `method not allowed here: use ${allow}`, { allow })
}

/** Build the hono app: health, polling, SSE, ingest, JSON 404/405/500. */
export function createApp(deps: AppDeps): Hono {
  const registry = deps.registry ?? new ConnectionRegistry()
  const authorizer = deps.authorizer
  const sse = deps.sse ?? createSseRouteDeps({ ...deps, registry, authorizer })
  const app = new Hono()
  deps.beforeRoutes?.(app)

  app.get('/healthz', () => healthz())
  app.get('/readyz', () => readyz(deps.hub.bus, registry.closing))
  const jobStatus = jobStatusHandler({ hub: deps.hub, authorizer, pollRetryAfterSeconds: deps.pollRetryAfterSeconds ?? 1 })
  app.get('/v1/jobs/:id', (c) => jobStatus(c.req.raw, c.req.param('id')))
  app.get('/v1/jobs/:id/events', (c) => sseRoute(sse, c, c.req.param('id')))
  app.get('/v1/events', (c) => sseRoute(sse, c, undefined))
  if (deps.ingest) {
    const ingest = createIngestHandler(deps.ingest)
    app.post('/v1/jobs/:id/events', (c) => ingest(c.req.raw, c.req.param('id')))
  }
  // Reached only by plain HTTP: real upgrades are taken by the server's `upgrade` handler.
  app.get('/v1/ws', () => errorResponse(426, 'bad_frame', '/v1/ws is a WebSocket endpoint: connect with a WebSocket client', { upgrade: 'websocket' }))
  for (const path of ['/healthz', '/readyz', '/v1/jobs/:id', '/v1/jobs/:id/events', '/v1/events', '/v1/ws']) {
    app.all(path, () => methodNotAllowed('GET, HEAD'))
  }
  deps.extraRoutes?.(app)

  app.notFound((c) => errorResponse(404, 'not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}: see docs/protocol.md`))
  app.onError((error, c) => {
    const { code, message } = publicError(error, `${c.req.method} ${c.req.routePath}`)
    return errorResponse(statusForCode(code), code, message)
  })
  return app
}
