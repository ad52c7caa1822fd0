/**
 * Start a real gateway on 127.0.0.1:0 for a test. Reused by every end-to-end suite.
 *
 * @example
 * const gw = await startGateway({ bus: { redisUrl: redis.url, prefix: randomPrefix() } })
 * await gw.gateway.bus.publish({ id: 'a', status: 'active' })
 * // fetch(`${gw.url}/v1/jobs/a`), new WebSocket(`${gw.wsUrl}`)
 * await gw.close()
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { openAuthorizer } from '../../packages/gateway/src/auth/authorizer.js'
import { createGateway, type Gateway, type GatewayOptions } from '../../packages/gateway/src/create-gateway.js'

/** Options of {@link startGateway}: which bus, plus any gateway option. */
export type StartGatewayOptions = Omit<GatewayOptions, 'redisUrl' | 'prefix' | 'bus' | 'authorizer'> & {
  /** `'memory'` (default) or a Redis to connect to (one URL, a cluster or sentinels), with its own prefix. */
  bus?: 'memory' | (Pick<GatewayOptions, 'redisUrl' | 'cluster' | 'sentinels' | 'sentinelName'> & { prefix?: string }) | GatewayOptions['bus']
  /**
   * Who may see which job. Tests of the transports run open on purpose; the security suites
   * pass a JWT authorizer. (The library itself has no default: see createGateway.)
   * @default openAuthorizer
   */
  authorizer?: GatewayOptions['authorizer']
  /**
   * Per-IP limits would throttle suites whose every client is 127.0.0.1; the security suites
   * turn them on with their own values.
   * @default false
   */
  security?: GatewayOptions['security']
  /**
   * How the gateway is served: `'own'`, its `listen()`; `'mounted'`, its `app` routed inside
   * another hono app on a server of the test's own, with `handleUpgrade` for WebSockets, as
   * an application embedding the gateway does.
   * @default 'own'
   */
  serve?: 'own' | 'mounted'
}

/** A listening test gateway. */
export interface TestGateway {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `ws://127.0.0.1:<port>/v1/ws` */
  readonly wsUrl: string
  readonly port: number
  readonly gateway: Gateway
  /** Graceful close (idempotent). */
  close(): Promise<void>
}

/** Start a gateway on a free port. Short shutdown bound so a broken test does not hang. */
export async function startGateway(options: StartGatewayOptions = {}): Promise<TestGateway> {
  const { bus, serve = 'own', ...rest } = options
  const busOptions: Pick<GatewayOptions, 'redisUrl' | 'cluster' | 'sentinels' | 'sentinelName' | 'prefix' | 'bus'> =
    bus === undefined || bus === 'memory'
      ? {}
      : 'kind' in bus
        ? { bus }
        : bus
  const gateway = createGateway({ shutdownTimeoutMs: 2_000, authorizer: openAuthorizer, warnOpenMode: false, security: false, ...busOptions, ...rest })
  if (serve === 'own') {
    const { port, url } = await gateway.listen(0, '127.0.0.1')
    return { url, wsUrl: `ws://127.0.0.1:${port}/v1/ws`, port, gateway, close: () => gateway.close() }
  }
  const outer = new Hono()
  outer.get('/app-health', (c) => c.text('ok'))
  outer.route('/', gateway.app)
  const server = createServer(getRequestListener(outer.fetch))
  server.on('upgrade', gateway.handleUpgrade)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= gateway.close().then(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ))
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/ws`, port, gateway, close }
}
