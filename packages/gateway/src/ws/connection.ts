/**
 * One WebSocket: its subscriptions (each a {@link JobWatch}: watch, terminal end, token
 * expiry), their authorization, and the slow-consumer bound. Owns everything it opens and
 * frees it when the socket ends, however it ends.
 */
import type { WebSocket, RawData } from 'ws'
import type { RateDecision } from '../admission/rate-limiter.js'
import type { Authorizer } from '../auth/authorizer.js'
import type { BusEvent } from '../bus/bus.js'
import { JobWatch, type JobWatchOwner } from '../connection/job-watch.js'
import type { JobHub } from '../hub.js'
import type { ErrorCode } from '../protocol.js'
import { publicError } from '../public-error.js'
import { PONG_FRAME, errorFrame, jobFrame, parseClientFrame, subscribedFrame, unsubscribedFrame } from './frames.js'

/** What a connection needs. */
export interface WsConnectionOptions {
  hub: Pick<JobHub, 'watch'>
  authorizer: Authorizer
  /** Token from the upgrade's `?token=`, used by subscribe frames that carry none. */
  defaultToken: string | undefined
  maxSubscriptions: number
  /** Output bytes queued on the socket past which the peer is closed with 1008 `slow_consumer`. */
  maxBufferedBytes: number
  /** Per-IP subscription rate (from the upgrade check). @default unlimited */
  admitSubscribe?: () => RateDecision
  /** Called once when the socket has closed. @default none */
  onClose?: (connection: WsConnection) => void
}

/** Send options of every frame (`ws` copies them, so one object serves all sends). */
const TEXT = { binary: false } as const

/** Close codes used by the gateway (RFC 6455 §7.4.1). */
export const CLOSE = { policy: 1008, tooBig: 1009, internal: 1011, restart: 1012 } as const

/** Drives one accepted socket. */
export class WsConnection implements JobWatchOwner {
  readonly #ws: WebSocket
  readonly #options: WsConnectionOptions
  /** Active subscriptions (at most `maxSubscriptions`, usually one or a few: searched linearly). */
  readonly #subs: JobWatch[] = []
  #ended = false
  /** Set by the ping sweep; a pong clears it. */
  alive = true

  constructor(ws: WebSocket, options: WsConnectionOptions) {
    this.#ws = ws
    this.#options = options
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary))
    ws.on('pong', () => {
      this.alive = true
    })
    ws.on('close', () => {
      this.#free()
      options.onClose?.(this)
    })
    ws.on('error', () => this.#free())
  }

  /** Number of active subscriptions. */
  get subscriptions(): number {
    return this.#subs.length
  }

  /** Shutdown: close with 1012 so clients reconnect elsewhere or later. */
  shutdown(): void {
    this.#free()
    this.#ws.close(CLOSE.restart, 'shutting_down')
  }

  /** Cut the socket at once (end of the shutdown bound). */
  terminate(): void {
    this.#free()
    this.#ws.terminate()
  }

  /** Ping sweep: terminate a peer that did not answer the previous ping. */
  ping(): void {
    if (!this.alive) {
      this.#free()
      this.#ws.terminate()
      return
    }
    this.alive = false
    try {
      this.#ws.ping()
    } catch {
      // socket already closing
    }
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#ended) return
    if (isBinary) return this.#send(errorFrame('bad_frame', '[jobcast] binary frames are not accepted: send JSON text'))
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8')
    const parsed = parseClientFrame(text)
    if (!parsed.ok) return this.#send(errorFrame(parsed.code, parsed.message, parsed.id))
    const frame = parsed.frame
    if (frame.type === 'ping') return this.#send(PONG_FRAME)
    if (frame.type === 'unsubscribe') {
      this.#end(frame.id)
      return this.#send(unsubscribedFrame(frame.id))
    }
    void this.#subscribe(frame.id, frame.since, frame.token)
  }

  async #subscribe(id: string, since: number, frameToken: string | undefined): Promise<void> {
    // Subscribing again to the same job restarts it from the new `since`.
    this.#end(id)
    if (this.#subs.length >= this.#options.maxSubscriptions) {
      return this.#send(
        errorFrame('too_many_subscriptions', `[jobcast] at most ${this.#options.maxSubscriptions} jobs per socket: unsubscribe from finished jobs first`, id),
      )
    }
    const admitted = this.#options.admitSubscribe?.()
    if (admitted && !admitted.ok) {
      return this.#send(
        errorFrame('rate_limited', `[jobcast] too many subscriptions from this address: subscribe again in ${admitted.retryAfterSec} s and do not unsubscribe and re-subscribe in a loop; the limit is --subscribe-rate`, id),
      )
    }
    const sub = new JobWatch(this, id)
    this.#subs.push(sub)
    const fail = (code: ErrorCode, message: string): void => {
      this.#remove(sub)
      this.#send(errorFrame(code, message, id))
    }
    try {
      const decision = await this.#options.authorizer.authorize(id, frameToken ?? this.#options.defaultToken)
      if (sub.closed) return
      if (!decision.ok) return fail(decision.code, decision.message)
      if (decision.expiresAt !== undefined) sub.expireAt(decision.expiresAt)
      await sub.start(this.#options.hub, since, (snapshot) => !sub.closed && this.#send(subscribedFrame(id, snapshot !== null)))
    } catch (error) {
      if (sub.closed) return
      this.#end(id)
      const { code, message } = publicError(error, 'a WebSocket subscribe')
      fail(code, message)
    }
  }

  /** A job event for one of this socket's subscriptions. */
  onJobEvent(sub: JobWatch, message: BusEvent): void {
    this.#send(jobFrame(message))
  }

  /** Its terminal event went out, or `since` already covered it: nothing more will come. */
  onJobEnded(sub: JobWatch): void {
    this.#end(sub.id)
    this.#send(unsubscribedFrame(sub.id))
  }

  onGrantExpired(sub: JobWatch): void {
    this.#end(sub.id)
    this.#send(errorFrame('token_expired', '[jobcast] token expired: subscribe again with a fresh token and "since"', sub.id))
  }

  /** End one subscription (idempotent). */
  #end(id: string): void {
    const sub = this.#subs.find((s) => s.id === id)
    if (!sub) return
    this.#remove(sub)
    sub.close()
  }

  #remove(sub: JobWatch): void {
    const index = this.#subs.indexOf(sub)
    if (index !== -1) this.#subs.splice(index, 1)
  }

  #free(): void {
    if (this.#ended) return
    this.#ended = true
    for (const sub of [...this.#subs]) this.#end(sub.id)
  }

  #send(frame: string | Buffer): void {
    const ws = this.#ws
    if (this.#ended || ws.readyState !== ws.OPEN) return
    // A peer that does not read makes its output pile up in our memory: drop it at the bound.
    if (ws.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#free()
      ws.close(CLOSE.policy, 'slow_consumer')
      // The close frame queues behind the unread data, so do not wait for the handshake.
      setTimeout(() => ws.terminate(), 1_000).unref()
      return
    }
    // The contract is JSON *text* frames: `ws` sends a Buffer as binary unless told, and a
    // browser then hands the page a Blob. Text opcode, same bytes, still zero-copy.
    ws.send(frame, TEXT)
  }
}
