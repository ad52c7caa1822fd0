/**
 * One driver per transport with the same small interface, so the contract suite runs the
 * same assertions over WebSocket, SSE (single and multi-job) and polling.
 */
import { Recorder, openSse, openWs } from './clients.js'

/** The fields of a job event the tests look at. */
export interface Ev {
  id: string
  seq: number
  status: string
  progress?: number
}

/** A transport's view of one watched job. */
export interface Watcher {
  /** Job events received for this job, in arrival order. */
  readonly events: Recorder<Ev>
  /** `exists` from the subscribed frame / 200 vs 404; undefined until known. */
  exists(): boolean | undefined
  /** Resolves when the transport says the job is over (stream ended, `unsubscribed`, terminal polled). */
  readonly finished: Promise<void>
  /** For SSE: the status of the response (204 on a covered terminal). */
  readonly status: number
  /**
   * The error code that refused or ended the watch (an `error` frame or SSE event, or an HTTP
   * error body), once `finished`; undefined when it ended normally.
   */
  error(): string | undefined
  close(): void
}

/** Names of the transports under test. */
export type TransportName = 'websocket' | 'sse' | 'sse-multi' | 'polling'

/** Open a watcher of job `id` from cursor `since` on gateway `url`, with `token` when given. */
export type Driver = (base: { url: string; wsUrl: string }, id: string, since?: number, token?: string) => Promise<Watcher>

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

const websocket: Driver = async ({ wsUrl }, id, since = 0, token) => {
  const ws = await openWs(wsUrl)
  const events = new Recorder<Ev>()
  let exists: boolean | undefined
  let error: string | undefined
  let resolveFinished!: () => void
  const finished = new Promise<void>((r) => (resolveFinished = r))
  ws.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; id?: string; code?: string; exists?: boolean; job?: Ev }
    if (frame.type === 'subscribed' && frame.id === id) exists = frame.exists
    if (frame.type === 'job' && frame.job?.id === id) events.push(frame.job)
    if (frame.type === 'error' && frame.id === id) error = frame.code
    if ((frame.type === 'unsubscribed' || frame.type === 'error') && frame.id === id) resolveFinished()
    events.notify()
  })
  ws.socket.on('close', () => resolveFinished())
  ws.send({ type: 'subscribe', id, since, ...(token !== undefined && { token }) })
  const started = (f: { type: string; id?: string }): boolean => (f.type === 'subscribed' || f.type === 'error') && f.id === id
  await ws.frames.until(() => ws.frames.items.find(started), 5_000, 'subscribed')
  return { events, exists: () => exists, finished, status: 101, error: () => error, close: () => ws.close() }
}

function sseDriver(multi: boolean): Driver {
  return async ({ url }, id, since = 0, token) => {
    const path = multi ? `/v1/events?id=${encodeURIComponent(id)}` : `/v1/jobs/${encodeURIComponent(id)}/events`
    const headers: Record<string, string> = since > 0 ? { 'last-event-id': String(since) } : {}
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const sse = await openSse(`${url}${path}`, headers)
    const events = new Recorder<Ev>()
    let exists: boolean | undefined
    let error: string | undefined
    let seen = 0
    const sync = (): void => {
      const items = sse.items.items
      for (; seen < items.length; seen++) {
        const item = items[seen]
        if (item?.kind !== 'event') continue
        const data = JSON.parse(item.message.data) as Ev & { exists?: boolean }
        if (item.message.event === 'subscribed') exists = data.exists
        else if (item.message.event === 'error') error = (data as { code?: string }).code
        else if (!item.message.event) events.push(data)
      }
      events.notify()
    }
    const originalPush = sse.items.push.bind(sse.items)
    sse.items.push = (item) => {
      originalPush(item)
      sync()
    }
    sync()
    if (sse.status === 200) await events.until(() => (exists === undefined ? undefined : true), 5_000, 'subscribed')
    const finished = sse.ended.then(() => {
      sync()
      const body = sse.errorBody()
      if (body) error = (JSON.parse(body) as { error: { code: string } }).error.code
    })
    return { events, exists: () => exists, finished, status: sse.status, error: () => error, close: () => sse.close() }
  }
}

const polling: Driver = async ({ url }, id, _since, token) => {
  const events = new Recorder<Ev>()
  let exists: boolean | undefined
  let error: string | undefined
  let etag: string | undefined
  let stopped = false
  let status = 0
  const poll = async (): Promise<void> => {
    while (!stopped) {
      const headers: Record<string, string> = etag ? { 'if-none-match': etag } : {}
      if (token !== undefined) headers.authorization = `Bearer ${token}`
      const response = await fetch(`${url}/v1/jobs/${encodeURIComponent(id)}`, { headers })
      status ||= response.status
      if (response.status === 200) {
        exists = true
        etag = response.headers.get('etag') ?? undefined
        const event = (await response.json()) as Ev
        const last = events.items.at(-1)
        if (!last || event.seq > last.seq) events.push(event)
        if (TERMINAL.has(event.status)) return
      } else if (response.status === 304 || response.status === 404 || response.status === 503) {
        // 503: the gateway's Redis is down or failing over; a poller asks again, as the client does.
        await response.arrayBuffer()
        if (response.status === 404) exists ??= false
      } else {
        error = ((await response.json()) as { error: { code: string } }).error.code
        events.notify()
        return
      }
      events.notify()
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  const finished = poll()
  await events.until(() => exists ?? (error === undefined ? undefined : true), 5_000, 'first poll')
  return {
    events,
    exists: () => exists,
    finished,
    get status() {
      return status
    },
    error: () => error,
    close: () => {
      stopped = true
    },
  }
}

/** Every driver by name. */
export const DRIVERS: Record<TransportName, Driver> = {
  websocket,
  sse: sseDriver(false),
  'sse-multi': sseDriver(true),
  polling,
}
