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
import { isJobcastError } from '../errors.js'
import { frameCache } from '../frame-cache.js'
import type { JobHub, Watch } from '../hub.js'
import { isTerminal } from '../protocol.js'
import type { Closable, ConnectionRegistry } from '../registry.js'
import { SSE_OPEN, SSE_PING, formatSeq, sseData, sseMessage, sseNamed, sseRetry } from '../sse.js'
import { at } from '../timers.js'
import type { Heartbeat } from './heartbeat.js'

const encoder = new TextEncoder()

/** A single-job frame (`id: <seq>` + data) is the same for every subscriber: encoded once per event. */
export const singleJobFrame: (message: BusEvent) => Uint8Array = frameCache((m) => encoder.encode(sseMessage(formatSeq(m.event.seq), m.json)))

/**
 * The `data:` part of a multi-job frame, encoded once per event. The `id:` line before it is
 * the stream's own cursor (one seq per job it carries), so only that short line is per stream.
 */
export const multiJobDataPart: (message: BusEvent) => Uint8Array = frameCache((m) => encoder.encode(sseData(m.json)))

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

/** Where a stream's bytes go: a Node response or a web stream controller. */
interface SseSink {
  /** Queue a chunk; true when the reader has fallen more than the bound behind. */
  write(chunk: Uint8Array | string): boolean
  /** Finish the response (`error` only where the sink can carry one). */
  end(error?: Error): void
  /** Cut a slow reader's connection, after `end()`; without it the stream ends with an error. */
  abort?: () => void
}

/**
 * The state of one stream, a class so that an idle stream is a few fields and no closures
 * beyond one listener per watched job.
 */
class SseStream implements Closable {
  readonly #o: SseStreamOptions
  readonly #sink: SseSink
  readonly #cursor: number[]
  /**
   * Multi-job: the cursor's entries as text, so an event re-formats only its own job's entry,
   * not all (up to --max-jobs-per-stream) of them. Empty for single-job streams.
   */
  readonly #cursorText: string[]
  readonly #done: boolean[]
  readonly #watches: (Watch | undefined)[]
  #cancelExpiry: (() => void) | undefined
  #ended = false

  constructor(options: SseStreamOptions, sink: SseSink) {
    this.#o = options
    this.#sink = sink
    this.#cursor = [...options.cursor]
    this.#cursorText = options.multi ? this.#cursor.map(formatSeq) : []
    this.#done = [...options.done]
    this.#watches = options.ids.map(() => undefined)
  }

  /** Write the preamble, register for shutdown and heartbeats, start the watches. */
  start(): void {
    const o = this.#o
    this.write(SSE_OPEN)
    this.write(sseRetry(o.retryMs))
    if (this.#ended) return
    o.heartbeat.add(this)
    o.registry.add(this)
    if (o.expiresAt !== undefined) {
      this.#cancelExpiry = at(o.expiresAt, () => {
        const ids = o.ids
        this.write(sseNamed('error', { code: 'token_expired', message: '[jobcast] token expired: fetch a new token and reconnect with the last event id', id: ids.length === 1 ? ids[0] : undefined }))
        this.end()
      })
    }
    if (this.#done.every(Boolean)) return this.end()
    // Watches start in parallel (one Redis round trip, not one per job); each job's
    // `subscribed` frame still precedes its own events.
    const started = o.ids.length === 1 ? this.#startWatch(0) : Promise.all(o.ids.map((_, i) => this.#startWatch(i)))
    started.catch((error: unknown) => {
      // Typically bus_unavailable: the client reconnects with its cursor and loses nothing.
      const code = isJobcastError(error) ? error.code : 'internal'
      const message = isJobcastError(error) ? error.message : '[jobcast] could not watch the job: reconnect with the last event id'
      this.write(sseNamed('error', { code, message }))
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
    this.#o.heartbeat.delete(this)
    this.#o.registry.delete(this)
    this.#cancelExpiry?.()
    for (const watch of this.#watches) watch?.close()
    this.#sink.end(error)
  }

  write(chunk: Uint8Array | string): void {
    if (this.#ended) return
    // Past the bound the client has stopped reading: drop it rather than buffer forever.
    if (!this.#sink.write(chunk)) return
    if (!this.#sink.abort) return this.end(new Error('[jobcast] slow_consumer: client does not read its SSE stream'))
    this.end()
    this.#sink.abort()
  }

  #deliver(index: number, message: BusEvent): void {
    const done = this.#done
    const cursor = this.#cursor
    if (this.#ended || done[index]) return
    if (message.event.seq <= (cursor[index] ?? 0)) return
    cursor[index] = message.event.seq
    if (this.#o.multi) {
      this.#cursorText[index] = formatSeq(message.event.seq)
      this.write(`id: ${this.#cursorText.join(',')}\n`)
      this.write(multiJobDataPart(message))
    } else {
      this.write(singleJobFrame(message))
    }
    if (isTerminal(message.event)) {
      done[index] = true
      this.#watches[index]?.close()
      if (done.every(Boolean)) this.end()
    }
  }

  async #startWatch(index: number): Promise<void> {
    const id = this.#o.ids[index] as string
    if (this.#done[index]) {
      this.write(sseNamed('subscribed', { id, exists: true }))
      return
    }
    const watch = await this.#o.hub.watch(
      id,
      // The hub calls onReady before any event of this watch, so `subscribed` always comes first.
      { since: this.#cursor[index] ?? 0, onReady: (snapshot) => this.write(sseNamed('subscribed', { id, exists: snapshot !== null })) },
      (message) => this.#deliver(index, message),
    )
    if (this.#ended) return watch.close()
    this.#watches[index] = watch
    if (watch.ended && !this.#done[index]) {
      this.#done[index] = true
      if (this.#done.every(Boolean)) this.end()
    }
  }
}

/** Build the streaming body. Starting watches happens in `start`, so the first comment is already queued. */
export function createSseStream(options: SseStreamOptions): ReadableStream<Uint8Array> {
  let stream: SseStream | undefined
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = new SseStream(options, {
          write(chunk) {
            controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
            // desiredSize goes negative once the client stops reading and its queue passes the bound.
            return (controller.desiredSize ?? 0) < 0
          },
          end(error) {
            try {
              if (error) controller.error(error)
              else controller.close()
            } catch {
              // already closed or cancelled by the client
            }
          },
          // Destroying the socket cancels this stream, which discards its queue.
          abort: options.abortConnection,
        })
        stream.start()
      },
      cancel() {
        stream?.end()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.maxBufferedBytes }),
  )
}

/**
 * Run the stream on a Node response: status and headers now, then every frame with
 * `res.write`. A client that goes away (`close`) ends it; so does one whose unsent output
 * passes `maxBufferedBytes` (the socket is destroyed).
 */
export function pipeSseToNode(options: SseStreamOptions, res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  res.writeHead(200, headers)
  flattenHeaderText(res)
  const stream = new SseStream(options, new NodeSink(res, options.maxBufferedBytes))
  // `on`, not `once`: 'close' fires once, and `once` would add a wrapper object per stream.
  res.on('close', () => stream.end())
  // The client may have left while authorization or the snapshot read was in flight: its
  // 'close' is then already past, and the stream must not start watches nobody will end.
  if (res.destroyed || res.socket?.destroyed !== false) return stream.end()
  stream.start()
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

/** A Node response as an {@link SseSink}: a class, so a stream holds no per-stream closures for it. */
class NodeSink implements SseSink {
  readonly #res: ServerResponse
  readonly #bound: number

  constructor(res: ServerResponse, bound: number) {
    this.#res = res
    this.#bound = bound
  }

  write(chunk: Uint8Array | string): boolean {
    this.#res.write(chunk)
    return this.#res.writableLength > this.#bound
  }

  end(): void {
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.end()
  }

  abort(): void {
    this.#res.destroy()
  }
}
