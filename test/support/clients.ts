/**
 * Minimal Node test clients for the gateway's transports: SSE over fetch with
 * eventsource-parser (Node 20 has no EventSource) and WebSocket with `ws`.
 * Each records what it received and lets a test wait for a condition on it.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import WebSocket from 'ws'

/** Collects items and wakes waiters when one arrives. */
export class Recorder<T> {
  readonly items: T[] = []
  #waiters = new Set<() => void>()

  push(item: T): void {
    this.items.push(item)
    this.notify()
  }

  notify(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  /** Resolve when `check()` returns a value other than undefined; reject after `timeoutMs`. */
  until<R>(check: () => R | undefined, timeoutMs = 5_000, what = 'condition'): Promise<R> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check()
        if (value === undefined) return false
        this.#waiters.delete(attempt)
        clearTimeout(timer)
        resolve(value)
        return true
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.items).slice(0, 1500)}`))
      }, timeoutMs)
      if (!attempt()) this.#waiters.add(attempt)
    })
  }
}

/** One parsed SSE item. */
export type SseItem = { kind: 'comment'; text: string } | { kind: 'retry'; ms: number } | { kind: 'event'; message: EventSourceMessage }

/** An open SSE response. */
export interface SseClient {
  readonly status: number
  readonly headers: Headers
  readonly items: Recorder<SseItem>
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>
  /** True once ended. */
  readonly done: () => boolean
  /** The body of a non-200 answer, once `ended`. */
  readonly errorBody: () => string | undefined
  /** The default (`message`) events. */
  messages(): EventSourceMessage[]
  /** The JSON of the default events. */
  jobs(): { id: string; seq: number; status: string; progress?: number }[]
  /** Abort the request. */
  close(): void
}

/** Open an SSE stream. Non-200 responses resolve too (check `status`), with their body unread. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const items = new Recorder<SseItem>()
  let finished = false
  let errorBody: string | undefined
  const parser = createParser({
    onEvent: (message) => items.push({ kind: 'event', message }),
    onRetry: (ms) => items.push({ kind: 'retry', ms }),
    onComment: (text) => items.push({ kind: 'comment', text }),
  })
  const ended = (async () => {
    if (response.status !== 200) {
      errorBody = await response.text().catch(() => '')
      return
    }
    if (!response.body) return
    const decoder = new TextDecoder()
    try {
      for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))
    } catch {
      // aborted by close()
    }
  })().finally(() => {
    finished = true
    items.notify()
  })
  const messages = (): EventSourceMessage[] =>
    items.items.flatMap((i) => (i.kind === 'event' && (i.message.event ?? 'message') === 'message' ? [i.message] : []))
  return {
    status: response.status,
    headers: response.headers,
    items,
    ended,
    done: () => finished,
    errorBody: () => errorBody,
    messages,
    jobs: () => messages().map((m) => JSON.parse(m.data)),
    close: () => controller.abort(),
  }
}

/** A WebSocket frame as received (JSON-parsed). */
export type WsFrame = { type: string; id?: string; code?: string; exists?: boolean; job?: { id: string; seq: number; status: string } }

/** An open WebSocket test client. */
export interface WsClient {
  readonly socket: WebSocket
  readonly frames: Recorder<WsFrame>
  /** Close code and reason once closed. */
  readonly closed: Promise<{ code: number; reason: string }>
  send(frame: unknown): void
  /** The `job` frames' events, optionally for one id. */
  jobs(id?: string): { id: string; seq: number; status: string; progress?: number }[]
  close(): void
}

/** Connect and wait for the socket to open. */
export function openWs(url: string): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    const frames = new Recorder<WsFrame>()
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      socket.on('close', (code, reason) => {
        res({ code, reason: reason.toString() })
        frames.notify()
      }),
    )
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as WsFrame))
    socket.once('error', reject)
    socket.once('open', () =>
      resolve({
        socket,
        frames,
        closed,
        send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        jobs: (id) => frames.items.flatMap((f) => (f.type === 'job' && f.job && (id === undefined || f.job.id === id) ? [f.job] : [])),
        close: () => socket.close(),
      }),
    )
  })
}
