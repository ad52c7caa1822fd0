/**
 * One SSE response carrying one or several jobs. Owns its watches and timers and frees them
 * whichever way it ends: terminal events, client disconnect, token expiry, slow consumer,
 * shutdown.
 *
 * Under Node it writes straight to the `ServerResponse` ({@link pipeSseToNode}): a web
 * `ReadableStream` body costs each idle stream two streams, their controllers and readers,
 * @hono/node-server's pending reader promises and a full `Response` — 24.8 KiB of RSS per idle
 * stream against 11.9 written directly (bench/results/2026-11-28-0056.md). Elsewhere
 * (`app.request()`, other runtimes) the same stream is a `ReadableStream` ({@link createSseStream}).
 */
import type { ServerResponse } from 'node:http'
import type { BusEvent } from '../bus/bus.js'
import { publicError } from '../public-error.js'
import { frameCache } from '../frame-cache.js'
import { itemsOf } from '../one-or-many.js'
import type { JobHub, Watch, WatchHandler } from '../hub.js'
import { isTerminal } from '../protocol.js'
import type { Closable, ConnectionRegistry } from '../registry.js'
import { SSE_OPEN, SSE_PING, formatSeq, sseData, sseMessage, sseNamed, sseRetry } from '../sse.js'
import { at } from '../timers.js'
import type { Heartbeat } from './heartbeat.js'

const encoder = new TextEncoder()

/**
 * A single-job frame (`id: <seq>` + data) is the same for every subscriber: built once per
 * event. Text, not bytes: Node writes a short string to the socket from a stack buffer, while
 * an encoded `Uint8Array` is a malloc'd backing store per event whose freed chunks stay in
 * the process's RSS (bench memory scenario).
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
  /** Cut the underlying connection (slow consumer). Without it the stream errors instead. */
  abortConnection?: () => void
}

/**
 * One job of a stream, and the handler its watch calls (no closure per watch). Scalars, so a
 * single-job stream holds one small object per job rather than an array per field.
 */
class JobSlot implements WatchHandler {
  readonly stream: SseStream
  readonly id: string
  /** Last seq the client has (0 = none). */
  cursor: number
  /** Multi-job: `cursor` as text, so an event re-formats only its own entry of the `id:` line. */
  cursorText: string
  /** The client has this job's terminal event: nothing more to send. */
  done: boolean
  watch: Watch | undefined = undefined
  /**
   * The `subscribed` frame, from the watch's start until it goes out in one write with the
   * job's first event (or alone once the watch has started): one write instead of two.
   */
  head: string | undefined = undefined

  constructor(stream: SseStream, id: string, cursor: number, done: boolean, multi: boolean) {
    this.stream = stream
    this.id = id
    this.cursor = cursor
    this.cursorText = multi ? formatSeq(cursor) : ''
    this.done = done
  }

  onJobEvent(message: BusEvent): void {
    this.stream.deliver(this, message)
  }
}

/**
 * The state of one stream, a class so that an idle stream is a few fields and no closures.
 * It keeps only what it needs after `start()` — not the options object, whose arrays and
 * settings would otherwise stay alive per stream. Subclasses say where the bytes go.
 */
abstract class SseStream implements Closable {
  readonly #hub: Pick<JobHub, 'watch'>
  readonly #registry: ConnectionRegistry
  readonly #heartbeat: Heartbeat
  readonly #multi: boolean
  /** One slot per job; a single-job stream holds its slot bare (no array). */
  readonly #slots: JobSlot | readonly JobSlot[]
  #cancelExpiry: (() => void) | undefined = undefined
  #ended = false

  constructor(options: SseStreamOptions) {
    this.#hub = options.hub
    this.#registry = options.registry
    this.#heartbeat = options.heartbeat
    this.#multi = options.multi
    const slots = options.ids.map((id, i) => new JobSlot(this, id, options.cursor[i] ?? 0, options.done[i] ?? false, options.multi))
    this.#slots = slots.length === 1 ? (slots[0] as JobSlot) : slots
  }

  /** Queue a chunk; true when the reader has fallen more than the bound behind. */
  protected abstract push(chunk: Uint8Array | string): boolean
  /** Finish the response (`error` only where the sink can carry one). */
  protected abstract finish(error?: Error): void
  /** Cut a slow reader's connection after `finish()`; false when this sink cannot (it then ends with an error). */
  protected abstract cut(): boolean

  /** Write the preamble, register for shutdown and heartbeats, start the watches. */
  start(options: SseStreamOptions): void {
    // One write: each write of a chunked response costs a chunk header and buffered-write objects.
    this.write(SSE_OPEN + sseRetry(options.retryMs))
    if (this.#ended) return
    this.#heartbeat.add(this)
    this.#registry.add(this)
    const ids = options.ids
    if (options.expiresAt !== undefined) {
      this.#cancelExpiry = at(options.expiresAt, () => {
        this.write(sseNamed('error', { code: 'token_expired', message: '[jobcast] token expired: fetch a new token and reconnect with the last event id', id: ids.length === 1 ? ids[0] : undefined }))
        this.end()
      })
    }
    if (this.#allDone()) return this.end()
    // Watches start in parallel (one Redis round trip, not one per job); each job's
    // `subscribed` frame still precedes its own events.
    const slots = this.#slots
    const started = slots instanceof JobSlot ? this.#startWatch(slots) : Promise.all(slots.map((s) => this.#startWatch(s)))
    started.catch((error: unknown) => {
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
  end(error?: Error): void {
    if (this.#ended) return
    this.#ended = true
    this.#heartbeat.delete(this)
    this.#registry.delete(this)
    this.#cancelExpiry?.()
    for (const slot of itemsOf(this.#slots)) slot.watch?.close()
    this.finish(error)
  }

  write(chunk: Uint8Array | string): void {
    if (this.#ended) return
    // Past the bound the client has stopped reading: drop it rather than buffer forever.
    if (!this.push(chunk)) return
    this.end(new Error('[jobcast] slow_consumer: client does not read its SSE stream'))
    this.cut()
  }

  /** A job event from one of the watches. */
  deliver(slot: JobSlot, message: BusEvent): void {
    if (this.#ended || slot.done) return
    const seq = message.event.seq
    if (seq <= slot.cursor) return
    slot.cursor = seq
    const head = slot.head ?? ''
    slot.head = undefined
    if (this.#multi) {
      slot.cursorText = formatSeq(seq)
      this.write(`${head}id: ${itemsOf(this.#slots).map((s) => s.cursorText).join(',')}\n${multiJobDataPart(message)}`)
    } else {
      this.write(head === '' ? singleJobFrame(message) : head + singleJobFrame(message))
    }
    if (isTerminal(message.event)) {
      slot.done = true
      slot.watch?.close()
      if (this.#allDone()) this.end()
    }
  }

  #allDone(): boolean {
    const slots = this.#slots
    return slots instanceof JobSlot ? slots.done : slots.every((s) => s.done)
  }

  async #startWatch(slot: JobSlot): Promise<void> {
    const id = slot.id
    if (slot.done) {
      this.write(sseNamed('subscribed', { id, exists: true }))
      return
    }
    // The hub calls onReady before any event of this watch, so `subscribed` always comes first:
    // it is held in the slot and written with the first event, or below.
    const watch = await this.#hub.watch(id, { since: slot.cursor, onReady: (snapshot) => (slot.head = sseNamed('subscribed', { id, exists: snapshot !== null })) }, slot)
    if (slot.head !== undefined) {
      const head = slot.head
      slot.head = undefined
      this.write(head)
    }
    if (this.#ended) return watch.close()
    slot.watch = watch
    if (watch.ended && !slot.done) {
      slot.done = true
      if (this.#allDone()) this.end()
    }
  }
}

/** A stream whose bytes go to a web `ReadableStream` controller. */
class WebSseStream extends SseStream {
  readonly #controller: ReadableStreamDefaultController<Uint8Array>
  readonly #abort: (() => void) | undefined

  constructor(options: SseStreamOptions, controller: ReadableStreamDefaultController<Uint8Array>) {
    super(options)
    this.#controller = controller
    this.#abort = options.abortConnection
  }

  protected push(chunk: Uint8Array | string): boolean {
    const controller = this.#controller
    controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
    // desiredSize goes negative once the client stops reading and its queue passes the bound.
    return (controller.desiredSize ?? 0) < 0
  }

  protected finish(error?: Error): void {
    try {
      if (error && !this.#abort) this.#controller.error(error)
      else this.#controller.close()
    } catch {
      // already closed or cancelled by the client
    }
  }

  protected cut(): boolean {
    // Destroying the socket cancels this stream, which discards its queue.
    this.#abort?.()
    return this.#abort !== undefined
  }
}

/** Build the streaming body. Starting watches happens in `start`, so the first comment is already queued. */
export function createSseStream(options: SseStreamOptions): ReadableStream<Uint8Array> {
  let stream: SseStream | undefined
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = new WebSseStream(options, controller)
        stream.start(options)
      },
      cancel() {
        stream?.end()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.maxBufferedBytes }),
  )
}

/** Where a Node response keeps its stream, for the one shared `close` listener. */
const STREAM = Symbol('jobcast.sseStream')

type StreamedResponse = ServerResponse & { [STREAM]?: SseStream }

/** The `close` listener of every streamed response: one function, not a closure per stream. */
function endStreamOnClose(this: StreamedResponse): void {
  this[STREAM]?.end()
}

/**
 * Run the stream on a Node response: status and headers now, then every frame with
 * `res.write`. A client that goes away (`close`) ends it; so does one whose unsent output
 * passes `maxBufferedBytes` (the socket is destroyed).
 */
export function pipeSseToNode(options: SseStreamOptions, res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  res.writeHead(200, headers)
  flattenHeaderText(res)
  const stream = new NodeSseStream(options, res)
  ;(res as StreamedResponse)[STREAM] = stream
  // `on`, not `once`: 'close' fires once, and `once` would add a wrapper object per stream.
  res.on('close', endStreamOnClose)
  // The client may have left while authorization or the snapshot read was in flight: its
  // 'close' is then already past, and the stream must not start watches nobody will end.
  if (res.destroyed || res.socket?.destroyed !== false) return stream.end()
  stream.start(options)
}

/**
 * Node builds the status line and headers by `+=`, one V8 cons-string node per piece, and the
 * response keeps that rope (`_header`) for its whole life: ~30 nodes, ~0.9 KiB per idle stream
 * (heap diff). Reading a character makes V8 flatten it in place into one ~300 B string. Only a
 * memory hint: nothing depends on it.
 */
function flattenHeaderText(res: ServerResponse): void {
  const text: unknown = (res as unknown as { _header?: unknown })._header
  if (typeof text === 'string') text.charCodeAt(0)
}

/** A stream written straight to a Node response. */
class NodeSseStream extends SseStream {
  readonly #res: ServerResponse
  readonly #bound: number

  constructor(options: SseStreamOptions, res: ServerResponse) {
    super(options)
    this.#res = res
    this.#bound = options.maxBufferedBytes
  }

  protected push(chunk: Uint8Array | string): boolean {
    this.#res.write(chunk)
    return this.#res.writableLength > this.#bound
  }

  protected finish(): void {
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.end()
  }

  protected cut(): boolean {
    this.#res.destroy()
    return true
  }
}
