// @ts-check
/**
 * Watches what the gateway sends a page, beneath the client. The client drops any event whose
 * seq is not above the last it accepted, so a duplicate or an older event never reaches
 * `onProgress`; these wrappers of the page's `WebSocket` and `fetch` see them on the wire:
 * on one WebSocket or SSE stream a job's seqs must strictly increase, and a poll answered 200
 * must carry a seq above the cursor it sent (an unchanged job is a 304).
 */
import { createParser } from 'eventsource-parser'
import { WebSocket } from 'ws'

/**
 * @typedef {(what: string) => void} OnAnomaly
 */

/**
 * A per-connection gate: reports a job event whose seq is not above the previous one of its job.
 * @param {string} transport
 * @param {OnAnomaly} onAnomaly
 */
function seqGate(transport, onAnomaly) {
  /** @type {Map<string, number>} */
  const last = new Map()
  return (/** @type {{ id?: unknown, seq?: unknown }} */ event) => {
    if (typeof event.id !== 'string' || typeof event.seq !== 'number') return
    const before = last.get(event.id)
    if (before !== undefined && event.seq <= before) onAnomaly(`${transport} sent seq ${event.seq} after ${before} on one connection`)
    last.set(event.id, Math.max(event.seq, before ?? 0))
  }
}

/** @param {string} text */
function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * `ws`'s WebSocket, watched. Listeners added here run beside the client's `onmessage`.
 * @param {OnAnomaly} onAnomaly
 */
export function watchedWebSocket(onAnomaly) {
  return class WatchedWebSocket extends WebSocket {
    /** @param {string} url */
    constructor(url) {
      super(url)
      const gate = seqGate('websocket', onAnomaly)
      this.addEventListener('message', ({ data }) => {
        const frame = parseJson(String(data))
        if (frame?.type === 'job' && frame.job) gate(frame.job)
      })
    }
  }
}

/**
 * `fetch`, watched: SSE streams are teed and parsed, polls compared with their cursor.
 * @param {OnAnomaly} onAnomaly
 * @returns {typeof fetch}
 */
export function watchedFetch(onAnomaly) {
  return async (input, init) => {
    const response = await fetch(input, init)
    const headers = new Headers(init?.headers)
    if (headers.get('accept') === 'text/event-stream' && response.ok && response.body) {
      const [mine, theirs] = response.body.tee()
      void readStream(mine, seqGate('sse', onAnomaly))
      return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers })
    }
    if (response.status === 200 && /\/v1\/jobs\/[^/]+$/.test(String(input))) {
      const cursor = Number(headers.get('if-none-match')?.replaceAll('"', '') ?? 0)
      void response
        .clone()
        .json()
        .then((/** @type {{ seq?: unknown }} */ event) => {
          if (cursor && typeof event.seq === 'number' && event.seq <= cursor) onAnomaly(`polling got 200 with seq ${event.seq} for cursor ${cursor}`)
        }, () => {})
    }
    return response
  }
}

/**
 * @param {ReadableStream<Uint8Array>} stream
 * @param {(event: { id?: unknown, seq?: unknown }) => void} gate
 */
async function readStream(stream, gate) {
  const parser = createParser({
    onEvent: (message) => {
      if (message.event === undefined || message.event === 'job') gate(parseJson(message.data) ?? {})
    },
  })
  const decoder = new TextDecoder()
  try {
    for await (const chunk of stream) parser.feed(decoder.decode(chunk, { stream: true }))
  } catch {
    // The page aborted the stream or the front cut it: nothing more to watch.
  }
}
