/**
 * One SSE response carrying one or several jobs, each a {@link JobWatch} (watch, terminal end,
 * token expiry, the core it shares with WebSocket subscriptions). Owns its watches and timers
 * and frees them whichever way it ends: terminal events, client disconnect, token expiry, slow
 * consumer, shutdown.
 *
 * It writes frames straight to an {@link SseSink}: the Node `ServerResponse` itself under
 * @hono/node-server (a web `ReadableStream` body per idle stream costs more memory than
 * the stream's own state: see bench/README.md), or {@link createWebSseSink} for
 * `app.request()` and other runtimes. The hub is the only seq and terminal gate: a stream
 * writes what its watches deliver.
 */
import type { BusEvent } from '../bus/bus.js'
import { JobWatch, type JobWatchOwner } from '../connection/job-watch.js'
import { frameCache } from '../frame-cache.js'
import type { JobHub } from '../hub.js'
import { publicError } from '../public-error.js'
import type { Closable, ConnectionRegistry } from '../registry.js'
import { SSE_OPEN, SSE_PING, formatSeq, sseData, sseMessage, sseNamed, sseRetry } from './frames.js'
import type { Heartbeat } from './heartbeat.js'

/**
 * Where a stream's bytes go. A Node `ServerResponse` is one as it is (no wrapper per stream);
 * {@link createWebSseSink} makes one for a web `Response` body.
 */
export interface SseSink {
  write(chunk: string): unknown
  /** Bytes written but not yet taken by the client. */
  readonly writableLength: number
  readonly writableEnded: boolean
  readonly destroyed: boolean
  /** Finish the response normally. */
  end(): unknown
  /** Cut the connection (slow consumer). */
  destroy(): unknown
}

/**
 * A single-job frame (`id: <seq>` + data) is the same for every subscriber: built once per
 * event. Text, not bytes: Node writes a short string to the socket from a stack buffer,
 * while an encoded `Uint8Array` is a separate allocation per event.
 */
export const singleJobFrame: (message: BusEvent) => string = frameCache((m) => sseMessage(formatSeq(m.event.seq), m.json))

/**
 * The `data:` part of a multi-job frame, built once per event. The `id:` line before it is
 * the stream's own cursor (one seq per job it carries), so only that short line is per stream.
 */
export const multiJobDataPart: (message: BusEvent) => string = frameCache((m) => sseData(m.json))

/** What a stream needs to run. */
export interface SseStreamOptions {
  hub: Pick<JobHub, 'watch'>
  registry: ConnectionRegistry
  /** Sends `: ping` to every live stream on one shared timer. */
  heartbeat: Heartbeat
  /** Job ids, in query order. */
  ids: readonly string[]
  /** Per job, the last seq the client has (0 = none). */
  cursor: readonly number[]
  /** Per job, true when the client already has its terminal event: no watch is opened. */
  done: readonly boolean[]
  /** `id:` is the comma-separated cursor (multi-job) instead of the seq. */
  multi: boolean
  /** `retry:` value, ms. */
  retryMs: number
  /** Close the stream once this many bytes are queued unread (slow consumer). */
  maxBufferedBytes: number
  /** When the token grant ends (ms since epoch); the stream then ends with `token_expired`. */
  expiresAt: number | undefined
}

/** One job of a stream: its watch, and what the stream writes for it. */
class JobSlot extends JobWatch {
  /** Last seq the client has (0 = none): the resume point of the watch, an entry of a multi-job `id:`. */
  cursor: number
  /** The client has this job's terminal event, or its watch ended: nothing more to send. */
  done: boolean
  /**
   * The `subscribed` frame, from the watch's start until it goes out in one write with the
   * job's first event (or alone once the watch has started): one write instead of two.
   */
  head: string | undefined = undefined

  constructor(stream: SseStream, id: string, cursor: number, done: boolean) {
    super(stream, id)
    this.cursor = cursor
    this.done = done
  }
}

/**
 * The state of one stream: a class, so that an idle stream is a few fields. It keeps only
 * what it needs after `start()`, not the options object.
 */
class SseStream implements Closable, JobWatchOwner {
  readonly #sink: SseSink
  readonly #hub: Pick<JobHub, 'watch'>
  readonly #registry: ConnectionRegistry
  readonly #heartbeat: Heartbeat
  readonly #multi: boolean
  readonly #maxBufferedBytes: number
  readonly #slots: readonly JobSlot[]
  #ended = false

  constructor(options: SseStreamOptions, sink: SseSink) {
    this.#sink = sink
    this.#hub = options.hub
    this.#registry = options.registry
    this.#heartbeat = options.heartbeat
    this.#multi = options.multi
    this.#maxBufferedBytes = options.maxBufferedBytes
    this.#slots = options.ids.map((id, i) => new JobSlot(this, id, options.cursor[i] ?? 0, options.done[i] ?? false))
  }

  /** Write the preamble, register for shutdown and heartbeats, start the watches. */
  start(options: SseStreamOptions): void {
    // One write: each write of a chunked response costs a chunk header and buffered-write objects.
    this.write(SSE_OPEN + sseRetry(options.retryMs))
    if (this.#ended) return
    this.#heartbeat.add(this)
    this.#registry.add(this)
    // The grant of the stream is the shortest of its jobs': the first job to expire ends it.
    const expiresAt = options.expiresAt
    if (expiresAt !== undefined) for (const slot of this.#slots) slot.expireAt(expiresAt)
    if (this.#allDone()) return this.end()
    // Watches start in parallel (one Redis round trip, not one per job); each job's
    // `subscribed` frame still precedes its own events.
    Promise.all(this.#slots.map((slot) => this.#startWatch(slot))).catch((error: unknown) => {
      // Typically bus_unavailable: the client reconnects with its cursor and loses nothing.
      this.write(sseNamed('error', publicError(error, 'an SSE watch')))
      this.end()
    })
  }

  /** Heartbeat tick. */
  ping(): void {
    this.write(SSE_PING)
  }

  /** Registry: the gateway shuts down. */
  shutdown(): void {
    this.end()
  }

  /** End the stream and free everything it holds (idempotent). */
  end(): void {
    if (!this.#release()) return
    const sink = this.#sink
    if (!sink.writableEnded && !sink.destroyed) sink.end()
  }

  write(chunk: string): void {
    if (this.#ended) return
    const sink = this.#sink
    sink.write(chunk)
    // Past the bound the client has stopped reading: drop it rather than buffer forever.
    if (sink.writableLength > this.#maxBufferedBytes && this.#release()) sink.destroy()
  }

  /** Stop timers and watches once; false when already done. */
  #release(): boolean {
    if (this.#ended) return false
    this.#ended = true
    this.#heartbeat.delete(this)
    this.#registry.delete(this)
    for (const slot of this.#slots) slot.close()
    return true
  }

  /** A job event from one of the watches (the hub passes each newer seq once, in order). */
  onJobEvent(job: JobWatch, message: BusEvent): void {
    const slot = job as JobSlot
    if (this.#ended) return
    const head = slot.head ?? ''
    slot.head = undefined
    slot.cursor = message.event.seq
    if (this.#multi) {
      this.write(`${head}id: ${this.#slots.map((s) => formatSeq(s.cursor)).join(',')}\n${multiJobDataPart(message)}`)
    } else {
      this.write(head === '' ? singleJobFrame(message) : head + singleJobFrame(message))
    }
  }

  /** A job is over (terminal event sent, or covered by the cursor): the stream ends with its last job. */
  onJobEnded(job: JobWatch): void {
    const slot = job as JobSlot
    slot.done = true
    // A watch that ends as it starts (the cursor covered the terminal event) still says `subscribed` first.
    this.#flushHead(slot)
    if (this.#allDone()) this.end()
  }

  onGrantExpired(): void {
    const slots = this.#slots
    this.write(sseNamed('error', { code: 'token_expired', message: '[jobcast] token expired: fetch a new token and reconnect with the last event id', id: slots.length === 1 ? slots[0]?.id : undefined }))
    this.end()
  }

  /** Write a held `subscribed` frame on its own. */
  #flushHead(slot: JobSlot): void {
    const head = slot.head
    if (head === undefined) return
    slot.head = undefined
    this.write(head)
  }

  #allDone(): boolean {
    return this.#slots.every((s) => s.done)
  }

  async #startWatch(slot: JobSlot): Promise<void> {
    const id = slot.id
    if (slot.done) {
      this.write(sseNamed('subscribed', { id, exists: true }))
      return
    }
    // The hub calls onReady before any event of this watch, so `subscribed` always comes first:
    // it is held in the slot and written with the first event, or below.
    await slot.start(this.#hub, slot.cursor, (snapshot) => (slot.head = sseNamed('subscribed', { id, exists: snapshot !== null })))
    this.#flushHead(slot)
  }
}

/**
 * Run a stream on a sink whose status and headers are already sent. The caller ends the
 * stream when the client goes away (`close` of a Node response).
 */
export function startSseStream(options: SseStreamOptions, sink: SseSink): { end(): void } {
  const stream = new SseStream(options, sink)
  stream.start(options)
  return stream
}
