/**
 * An {@link SseSink} feeding a web `ReadableStream`, for SSE answered without a Node response:
 * `app.request()` and runtimes other than @hono/node-server. The stream code is the same as
 * on a Node response; only where the bytes go differs.
 */
import type { SseSink } from './sse-stream.js'

const encoder = new TextEncoder()

/** A sink and the body it fills; `onCancel` runs when the reader cancels (the client left). */
export interface WebSseSink {
  readonly sink: SseSink
  readonly body: ReadableStream<Uint8Array>
}

/** Creates a sink whose bytes are read from `body`. */
export function createWebSseSink(onCancel: () => void): WebSseSink {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let ended = false
  let destroyed = false
  // High-water mark 0: `desiredSize` is then minus the bytes queued and not yet read.
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      cancel() {
        destroyed = true
        onCancel()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
  )
  const sink: SseSink = {
    write(chunk) {
      if (!ended && !destroyed) controller.enqueue(encoder.encode(chunk))
    },
    get writableLength() {
      return destroyed ? 0 : -(controller.desiredSize ?? 0)
    },
    get writableEnded() {
      return ended
    },
    get destroyed() {
      return destroyed
    },
    end() {
      if (ended || destroyed) return
      ended = true
      controller.close()
    },
    destroy() {
      if (destroyed) return
      destroyed = true
      controller.error(new Error('[jobcast] slow_consumer: the SSE body was not read; read it as it arrives'))
    },
  }
  return { sink, body }
}
