/**
 * WebSocket endpoint `/v1/ws` on the gateway's HTTP server: takes `upgrade` events, runs the
 * upgrade check, hands accepted sockets to {@link WsConnection}, and pings every socket on
 * an interval, terminating peers that missed the previous ping.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { Authorizer } from '../auth/authorizer.js'
import type { JobHub } from '../hub.js'
import type { ErrorCode } from '../protocol.js'
import type { ConnectionRegistry } from '../registry.js'
import type { RateDecision } from '../admission/rate-limiter.js'
import { publicError } from '../public-error.js'
import { endSocketWithError, statusForCode } from '../http-error.js'
import { WsConnection } from './connection.js'

/**
 * Answer of an {@link UpgradeCheck}. On `ok`, `release` (if given) is called exactly once when
 * the socket closes or the handshake fails (e.g. to free a per-IP connection slot).
 */
export type WsUpgradeDecision =
  | {
      readonly ok: true
      readonly release?: () => void
      /** Asked before each `subscribe` of this socket (a per-IP subscription rate); a refusal answers `rate_limited`. */
      readonly admitSubscribe?: () => RateDecision
    }
  | { readonly ok: false; readonly status: number; readonly code: ErrorCode; readonly message: string }

/**
 * Hook run on every WebSocket upgrade before it is accepted (origin allow-list, per-IP
 * limits). A refusal is answered with a plain HTTP error response and no socket is opened.
 */
export type UpgradeCheck = (req: IncomingMessage) => WsUpgradeDecision | Promise<WsUpgradeDecision>

/** What the WebSocket endpoint needs. */
export interface WsServerOptions {
  hub: Pick<JobHub, 'watch'>
  authorizer: Authorizer
  registry: ConnectionRegistry
  /** Max jobs per socket. */
  maxSubscriptions: number
  /** Max inbound frame, bytes; bigger frames close the socket with 1009. */
  maxFrameBytes: number
  /** Max queued output per socket before it is closed as a slow consumer. */
  maxBufferedBytes: number
  /** Protocol ping interval, ms. */
  pingIntervalMs: number
  /** Upgrade hook. @default accept all */
  checkUpgrade?: UpgradeCheck
}

/** The path of the WebSocket endpoint. */
export const WS_PATH = '/v1/ws'

/** The only WebSocket protocol version the gateway speaks (RFC 6455 §4.1). */
const WS_VERSION = '13'

/** A socket error ends the socket (shared listener: `this` is the socket). */
function destroySocket(this: Duplex): void {
  this.destroy()
}

/** The WebSocket side of one gateway. */
export class WsServer {
  readonly #options: WsServerOptions
  readonly #wss: WebSocketServer
  readonly #connections = new Set<WsConnection>()
  readonly #pinger: ReturnType<typeof setInterval>

  constructor(options: WsServerOptions) {
    this.#options = options
    // One process-wide frame size limit: ws closes with 1009 before buffering anything bigger.
    // No clientTracking: #connections already tracks every socket (ws would add a Set entry and a close listener each).
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false })
    this.#pinger = setInterval(() => {
      for (const connection of this.#connections) connection.ping()
    }, options.pingIntervalMs)
    this.#pinger.unref()
  }

  /** Open sockets. */
  get size(): number {
    return this.#connections.size
  }

  /** Handle a server `upgrade` event. Upgrades to other paths get 404. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', destroySocket)
    void this.#upgrade(req, socket, head).catch((error: unknown) => {
      const { code, message } = publicError(error, 'a WebSocket upgrade')
      if (!socket.destroyed) endSocketWithError(socket, statusForCode(code), code, message)
    })
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== WS_PATH) return endSocketWithError(socket, 404, 'not_found', `no WebSocket endpoint at ${url.pathname}: use ${WS_PATH}`)
    // ws also accepts the draft version 8 (hybi-10); RFC 6455 §4.4 asks for 426 naming the versions spoken.
    const version = req.headers['sec-websocket-version']
    if (version !== WS_VERSION)
      return endSocketWithError(socket, 426, 'bad_request', `WebSocket protocol version ${JSON.stringify(version?.slice(0, 20) ?? null)} is not supported: use version ${WS_VERSION} (RFC 6455)`, {
        'sec-websocket-version': WS_VERSION,
      })
    if (this.#options.registry.closing) return endSocketWithError(socket, 503, 'shutting_down', 'the gateway is shutting down: reconnect in a moment')
    const decision: WsUpgradeDecision = (await this.#options.checkUpgrade?.(req)) ?? { ok: true }
    if (!decision.ok) return endSocketWithError(socket, decision.status, decision.code, decision.message)
    // One listener per socket, no wrappers: the socket's 'close' follows the WebSocket's
    // close and also covers a handshake that fails or a peer that leaves before it completes.
    const release = decision.release
    if (release) {
      // Checked first: a socket already destroyed may still emit 'close' (release must run once).
      if (socket.destroyed) return release()
      socket.on('close', release)
    }
    const token = url.searchParams.get('token') || undefined
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new WsConnection(ws, {
        hub: this.#options.hub,
        authorizer: this.#options.authorizer,
        defaultToken: token,
        maxSubscriptions: this.#options.maxSubscriptions,
        maxBufferedBytes: this.#options.maxBufferedBytes,
        admitSubscribe: decision.admitSubscribe,
        onClose: this.#onConnectionClose,
      })
      this.#connections.add(connection)
      this.#options.registry.add(connection)
    })
  }

  /** Shared by every connection (no closure per socket). */
  readonly #onConnectionClose = (connection: WsConnection): void => {
    this.#connections.delete(connection)
    this.#options.registry.delete(connection)
  }

  /** Stop pinging and close the (noServer) WebSocket server. Sockets are ended via the registry. */
  close(): void {
    clearInterval(this.#pinger)
    this.#wss.close()
  }

  /** Terminate every remaining socket (end of the shutdown bound). */
  terminateAll(): void {
    for (const connection of [...this.#connections]) connection.terminate()
  }
}
