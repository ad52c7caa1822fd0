/**
 * One SSE response carrying one or several jobs. Owns its watches and timers and frees them
 * whichever way it ends: terminal events, client disconnect, token expiry, slow consumer,
 * shutdown.
 */
import type { BusEvent } from '../bus/bus.js'
import { isJobcastError } from '../errors.js'
import { frameCache } from '../frame-cache.js'
import type { JobHub, Watch } from '../hub.js'
import { isTerminal } from '../protocol.js'
import type { ConnectionRegistry } from '../registry.js'
import { SSE_OPEN, SSE_PING, formatSeq, sseData, sseMessage, sseNamed, sseRetry } from '../sse.js'
import { at } from '../timers.js'

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
  /** Job ids, in query order. */
  ids: readonly string[]
  /** Per job, the last seq the client has (0 = none). */
  cursor: readonly number[]
  /** Per job, true when the client already has its terminal event: no watch is opened. */
  done: readonly boolean[]
  /** `id:` is the comma-separated cursor (multi-job) instead of the seq. */
  multi: boolean
  /** Heartbeat comment interval, ms. */
  heartbeatMs: number
  /** `retry:` value, ms. */
  retryMs: number
  /** Close the stream once this many bytes are queued unread (slow consumer). */
  maxBufferedBytes: number
  /** When the token grant ends (ms since epoch); the stream then ends with `token_expired`. */
  expiresAt: number | undefined
  /** Cut the underlying connection (slow consumer). Without it the stream errors instead. */
  abortConnection?: () => void
}

/** Build the streaming body. Starting watches happens in `start`, so the first comment is already queued. */
export function createSseStream(options: SseStreamOptions): ReadableStream<Uint8Array> {
  const { ids, multi } = options
  const cursor = [...options.cursor]
  // The cursor's entries as text, so an event re-formats only its own job's entry, not all
  // (up to --max-jobs-per-stream) of them.
  const cursorText = multi ? cursor.map(formatSeq) : []
  const done = [...options.done]
  const watches: (Watch | undefined)[] = ids.map(() => undefined)
  let ended = false
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const cleanups: (() => void)[] = []

  const end = (error?: Error): void => {
    if (ended) return
    ended = true
    for (const cleanup of cleanups) cleanup()
    for (const watch of watches) watch?.close()
    try {
      if (error) controller.error(error)
      else controller.close()
    } catch {
      // already closed or cancelled by the client
    }
  }

  const write = (chunk: Uint8Array | string): void => {
    if (ended) return
    controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
    // desiredSize goes negative once the client stops reading and its queue passes the bound:
    // drop it (erroring discards the queue, freeing the memory) rather than buffer forever.
    if ((controller.desiredSize ?? 0) < 0) {
      if (options.abortConnection) {
        // Destroying the socket cancels this stream, which discards its queue.
        end()
        options.abortConnection()
      } else {
        end(new Error('[jobcast] slow_consumer: client does not read its SSE stream'))
      }
    }
  }

  const deliver = (index: number, message: BusEvent): void => {
    if (ended || done[index]) return
    if (message.event.seq <= (cursor[index] ?? 0)) return
    cursor[index] = message.event.seq
    if (multi) {
      cursorText[index] = formatSeq(message.event.seq)
      write(`id: ${cursorText.join(',')}\n`)
      write(multiJobDataPart(message))
    } else {
      write(singleJobFrame(message))
    }
    if (isTerminal(message.event)) {
      done[index] = true
      watches[index]?.close()
      if (done.every(Boolean)) end()
    }
  }

  const startWatch = async (index: number): Promise<void> => {
    const id = ids[index] as string
    if (done[index]) {
      write(sseNamed('subscribed', { id, exists: true }))
      return
    }
    const watch = await options.hub.watch(
      id,
      // The hub calls onReady before any event of this watch, so `subscribed` always comes first.
      { since: cursor[index] ?? 0, onReady: (snapshot) => write(sseNamed('subscribed', { id, exists: snapshot !== null })) },
      (message) => deliver(index, message),
    )
    if (ended) return watch.close()
    watches[index] = watch
    if (watch.ended && !done[index]) {
      done[index] = true
      if (done.every(Boolean)) end()
    }
  }

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        write(SSE_OPEN)
        write(sseRetry(options.retryMs))
        const heartbeat = setInterval(() => write(SSE_PING), options.heartbeatMs)
        heartbeat.unref?.()
        cleanups.push(() => clearInterval(heartbeat))
        cleanups.push(options.registry.add({ shutdown: () => end() }))
        if (options.expiresAt !== undefined) {
          cleanups.push(
            at(options.expiresAt, () => {
              write(sseNamed('error', { code: 'token_expired', message: '[jobcast] token expired: fetch a new token and reconnect with the last event id', id: ids.length === 1 ? ids[0] : undefined }))
              end()
            }),
          )
        }
        if (done.every(Boolean)) return end()
        // Watches start in parallel (one Redis round trip, not one per job); each job's
        // `subscribed` frame still precedes its own events.
        void Promise.all(ids.map((_, i) => startWatch(i))).catch((error: unknown) => {
          // Typically bus_unavailable: the client reconnects with its cursor and loses nothing.
          const code = isJobcastError(error) ? error.code : 'internal'
          const message = isJobcastError(error) ? error.message : '[jobcast] could not watch the job: reconnect with the last event id'
          write(sseNamed('error', { code, message }))
          end()
        })
      },
      cancel() {
        end()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.maxBufferedBytes }),
  )
}
