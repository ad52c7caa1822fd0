/** Test helpers for the client's unit tests: an msw server, counted timers, controllable SSE bodies, events. */
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { JobEvent, JobStatus } from '../src/protocol.js'

/** The gateway URL the msw handlers answer for. */
export const GW = 'http://gw.test'

/** An msw server for the calling test file: listens before its tests, resets handlers after each, closes after all. */
export function mswServer() {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())
  return server
}

/** Timers injected into the client, counting the ones still pending. */
export function countedTimers() {
  const live = new Set<unknown>()
  return {
    setTimeout: (fn: () => void, ms: number) => {
      const t: ReturnType<typeof setTimeout> = setTimeout(() => {
        live.delete(t)
        fn()
      }, ms)
      live.add(t)
      return t
    },
    clearTimeout: (t: unknown) => {
      live.delete(t)
      clearTimeout(t as ReturnType<typeof setTimeout>)
    },
    get pending() {
      return live.size
    },
  }
}

let seq = 1_764_000_000_000_000
/** A job event with a fresh, non-consecutive seq. */
export const ev = (id: string, status: JobStatus, extra: Partial<JobEvent> = {}): JobEvent => ({
  seq: (seq += 1000 + Math.floor(Math.random() * 1000)),
  id,
  status,
  ts: Date.now(),
  ...extra,
})

/** A `text/event-stream` body the test writes into. */
export function sseBody() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>
  let open = true
  const enc = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      ctl = c
    },
    cancel: () => {
      open = false
    },
  })
  return {
    body,
    write(text: string) {
      if (open) ctl.enqueue(enc.encode(text))
    },
    event(job: JobEvent, id = String(job.seq)) {
      this.write(`id: ${id}\ndata: ${JSON.stringify(job)}\n\n`)
    },
    subscribed(id: string, exists = true) {
      this.write(`event: subscribed\ndata: ${JSON.stringify({ id, exists })}\n\n`)
    },
    end() {
      if (open) ctl.close()
      open = false
    },
    get open() {
      return open
    },
  }
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }

/** A WebSocket constructor whose connections are refused (close without ever opening). */
export class RefusedWebSocket {
  static count = 0
  onclose: ((e: { code: number }) => void) | null = null
  onerror: (() => void) | null = null
  onopen: (() => void) | null = null
  onmessage: (() => void) | null = null
  constructor(_url: string) {
    RefusedWebSocket.count++
    setTimeout(() => {
      this.onerror?.()
      this.onclose?.({ code: 1006 })
    }, 1)
  }
  send() {}
  close() {}
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `cond()` holds (polling every 5 ms), failing after `ms`. */
export async function until(cond: () => unknown, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}
