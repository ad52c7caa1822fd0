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
  close(): void
}

/** Names of the transports under test. */
export type TransportName = 'websocket' | 'sse' | 'sse-multi' | 'polling'

/** Open a watcher of job `id` from cursor `since` on gateway `url`. */
export type Driver = (base: { url: string; wsUrl: string }, id: string, since?: number) => Promise<Watcher>

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

const websocket: Driver = async ({ wsUrl }, id, since = 0) => {
  const ws = await openWs(wsUrl)
  const events = new Recorder<Ev>()
  let exists: boolean | undefined
  let resolveFinished!: () => void
  const finished = new Promise<void>((r) => (resolveFinished = r))
  ws.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; id?: string; exists?: boolean; job?: Ev }
    if (frame.type === 'subscribed' && frame.id === id) exists = frame.exists
    if (frame.type === 'job' && frame.job?.id === id) events.push(frame.job)
    if (frame.type === 'unsubscribed' && frame.id === id) resolveFinished()
    events.notify()
  })
  ws.send({ type: 'subscribe', id, since })
  await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'subscribed' && f.id === id), 5_000, 'subscribed')
  return { events, exists: () => exists, finished, status: 101, close: () => ws.close() }
}

function sseDriver(multi: boolean): Driver {
  return async ({ url }, id, since = 0) => {
    const path = multi ? `/v1/events?id=${encodeURIComponent(id)}` : `/v1/jobs/${encodeURIComponent(id)}/events`
    const sse = await openSse(`${url}${path}`, since > 0 ? { 'last-event-id': String(since) } : {})
    const events = new Recorder<Ev>()
    let exists: boolean | undefined
    let seen = 0
    const sync = (): void => {
      const items = sse.items.items
      for (; seen < items.length; seen++) {
        const item = items[seen]
        if (item?.kind !== 'event') continue
        const data = JSON.parse(item.message.data) as Ev & { exists?: boolean }
        if (item.message.event === 'subscribed') exists = data.exists
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
    return { events, exists: () => exists, finished: sse.ended.then(() => sync()), status: sse.status, close: () => sse.close() }
  }
}

const polling: Driver = async ({ url }, id) => {
  const events = new Recorder<Ev>()
  let exists: boolean | undefined
  let etag: string | undefined
  let stopped = false
  let status = 0
  const poll = async (): Promise<void> => {
    while (!stopped) {
      const response = await fetch(`${url}/v1/jobs/${encodeURIComponent(id)}`, { headers: etag ? { 'if-none-match': etag } : {} })
      status ||= response.status
      if (response.status === 200) {
        exists = true
        etag = response.headers.get('etag') ?? undefined
        const event = (await response.json()) as Ev
        const last = events.items.at(-1)
        if (!last || event.seq > last.seq) events.push(event)
        if (TERMINAL.has(event.status)) return
      } else {
        await response.arrayBuffer()
        if (response.status === 404) exists ??= false
      }
      events.notify()
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  const finished = poll()
  await events.until(() => exists, 5_000, 'first poll')
  return {
    events,
    exists: () => exists,
    finished,
    get status() {
      return status
    },
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
