import { backoffDelay } from './backoff.js'
import {
  AuthError,
  JobCancelledError,
  JobFailedError,
  JobLostError,
  JobNotFoundError,
  JobTimeoutError,
  JobcastClientError,
  abortError,
} from './errors.js'
import type {
  ClientOptions,
  ConnectionState,
  StateChange,
  StateReason,
  SubscribeOptions,
  TransportName,
  UpdateInfo,
  WaitOptions,
  WatchOptions,
} from './options.js'
import { resolveOptions } from './options.js'
import type { JobEvent } from './protocol.js'
import { polling } from './transports/polling.js'
import { sse } from './transports/sse.js'
import type { Transport, TransportSink } from './transports/transport.js'
import { websocket } from './transports/websocket.js'
import { wireCodeAction } from './wire-codes.js'

/** A jobcast client: one connection shared by every job it watches. */
export interface JobcastClient {
  /**
   * Resolves with the `completed` event. Rejects with `JobFailedError`, `JobCancelledError`,
   * `JobTimeoutError`, `JobNotFoundError`, `JobLostError`, `AuthError`, an `AbortError`, a
   * `JobcastClientError` with a fatal wire code or, after `close()`, coded `client_closed`.
   * @example const job = await client.waitForJob('export-42', { onProgress: (j) => (bar.value = j.progress ?? 0) })
   */
  waitForJob<R = Record<string, unknown>>(id: string, options?: WaitOptions): Promise<JobEvent<R>>
  /**
   * Every update of a job, the current state first; ends after the terminal one (a failed or
   * cancelled job ends the loop normally). Throws the errors `waitForJob` rejects with,
   * except the job's own failure.
   * @example for await (const j of client.watch('export-42', { signal })) render(j)
   */
  watch(id: string, options?: WatchOptions): AsyncGenerator<JobEvent, void, undefined>
  /**
   * Calls `onUpdate` with every update until the terminal one; returns a function that stops.
   * @example const stop = client.subscribe('export-42', (j) => render(j), { onError: show })
   */
  subscribe(id: string, onUpdate: (job: JobEvent, info: UpdateInfo) => void, options?: SubscribeOptions): () => void
  /** Listens to connection state and transport changes; returns a function that stops. */
  onStateChange(listener: (change: StateChange) => void): () => void
  /** The connection state. */
  readonly state: ConnectionState
  /** The transport in use or being tried, if any. */
  readonly transport: TransportName | undefined
  /** Ends every watch (`client_closed`) and frees every connection and timer. Idempotent: returns the same promise. */
  close(): Promise<void>
}

interface Sub {
  up(job: JobEvent, info: UpdateInfo): void
  err(e: Error): void
}

interface Job {
  id: string
  seq: number
  last?: JobEvent
  subs: Set<Sub>
  /**
   * Runs while the gateway says it does not know the job: `notFoundGrace`, or `lostGrace` once
   * the job was seen; `0` once that grace is over and the job is being asked for one last time.
   */
  unknownTimer?: unknown
  /** `token_expired` in a row without the gateway accepting a fresh token (`subscribed`, 200/304 reset it). */
  expired: number
  /** Retries in a row after a retryable wire error (an event or `subscribed` resets it). */
  retries: number
  /** Pending retry after a retryable wire error. */
  retryTimer?: unknown
}

interface Conn {
  name: TransportName
  i: number
  t: Transport
  /** Has delivered something. */
  ok?: boolean
  dead?: boolean
}

const ID = /^[A-Za-z0-9._:@-]{1,128}$/
const AUTH = /^(unauthorized|forbidden|token_expired)$/
const FACTORIES = { websocket, sse, polling }
const closedError = (jobId: string, job?: JobEvent) => new JobcastClientError('client_closed', 'client closed', jobId, job)

/** Is this the job's last event? */
export const isTerminal = (job: Pick<JobEvent, 'status'>): boolean => /^(completed|failed|cancelled)$/.test(job.status)

/**
 * Creates a client. Nothing connects until a job is watched.
 * @example
 * const jobs = createClient({ url: 'https://api.example.com/jobcast', token: (id) => getToken(id) })
 * const job = await jobs.waitForJob('export-42')
 */
export function createClient(options: ClientOptions): JobcastClient {
  const o = resolveOptions(options)
  const order = o.transports
  const jobs = new Map<string, Job>()
  const listeners = new Set<(c: StateChange) => void>()
  let state: ConnectionState = 'idle'
  let name: TransportName | undefined
  let idx = 0
  let cur: Conn | undefined
  let probe: Conn | undefined
  let attempt = 0
  let retryT: unknown
  let lingerT: unknown
  let upT: unknown
  let closing: Promise<void> | undefined

  // The one transition function: every change of state or transport goes through here.
  const set = (s: ConnectionState, reason: StateReason, t?: TransportName) => {
    if (s == state && t == name) return
    const change: StateChange = { state: s, previous: state, transport: t, reason }
    state = s
    name = t
    o.onStateChange?.(change)
    listeners.forEach((f) => f(change))
  }

  const token = async (id: string): Promise<string | undefined> => {
    try {
      const t = o.token
      return typeof t == 'function' ? await t(id) : t
    } catch (cause) {
      const j = jobs.get(id)
      if (j) fail(j, new JobcastClientError('token_error', 'token() threw', id, undefined, cause))
      // Never settles: the job is gone, so whoever asked has nothing left to do.
      return new Promise<never>(() => {})
    }
  }

  const kill = (c?: Conn) => {
    if (c) {
      c.dead = true
      c.t.close()
    }
  }

  const open = (i: number, reason: StateReason, isProbe?: boolean) => {
    const c = { name: order[i]!, i } as Conn
    const alive = () => c.ok || up(c)
    const sink: TransportSink = {
      alive: () => c.dead || alive(),
      event: (e) => c.dead || (alive(), onEvent(e, c)),
      exists: (id, ex) => c.dead || (alive(), onExists(id, ex)),
      error: (id, code, msg) => c.dead || onError(id, code, msg, c),
      fail: () => c.dead || onFail(c),
    }
    if (isProbe) probe = c
    else {
      cur = c
      set('connecting', reason, c.name)
    }
    c.t = FACTORIES[c.name]({ options: o, sink, token })
    jobs.forEach((j) => c.t.add(j.id, j.seq))
  }

  const retry = (i: number, reason: StateReason) => {
    set('reconnecting', reason, order[i])
    retryT = o.setTimeout(() => {
      retryT = undefined
      open(i, reason)
    }, backoffDelay(attempt++, o.reconnect))
  }

  const planUpgrade = () => {
    o.clearTimeout(upT)
    if (idx > 0)
      upT = o.setTimeout(() => {
        if (cur?.ok && !probe) open(0, 'upgrade', true)
      }, o.upgradeAfter)
  }

  const up = (c: Conn) => {
    c.ok = true
    // A probe can come up while the dropped transport waits to reconnect: that reconnect
    // would open a second connection and orphan this one.
    o.clearTimeout(retryT)
    retryT = undefined
    const upgrade = c == probe
    if (upgrade) {
      kill(cur)
      cur = c
      probe = undefined
    }
    idx = c.i
    attempt = 0
    set('connected', upgrade ? 'upgrade' : 'open', c.name)
    planUpgrade()
  }

  const onFail = (c: Conn) => {
    kill(c)
    if (c == probe) {
      probe = undefined
      return planUpgrade()
    }
    cur = undefined
    if (!jobs.size) return idle()
    // A transport that worked gets a few reconnects (a gateway restart) before the fallback.
    if (c.ok || (attempt && attempt < 3 && c.i == idx)) return retry(c.i, 'closed')
    const n = (c.i + 1) % order.length
    // Fell through the whole list: start over, but not in a tight loop.
    n ? open(n, 'fallback') : retry(0, 'error')
  }

  const shut = (s: ConnectionState, reason: StateReason) => {
    kill(cur)
    kill(probe)
    cur = probe = undefined
    for (const t of [retryT, lingerT, upT]) o.clearTimeout(t)
    retryT = undefined
    set(s, reason)
  }

  const idle = () => shut('idle', 'idle')

  const onEvent = (event: JobEvent, connection: Conn) => {
    const job = jobs.get(event.id)
    // seq only grows but is not consecutive: compare, never expect +1.
    if (!job || !(event.seq > job.seq)) return
    job.seq = event.seq
    job.last = event
    onExists(event.id, true)
    const info = { transport: connection.name }
    job.subs.forEach((sub) => sub.up(event, info))
    if (isTerminal(event)) drop(job)
  }

  // Unknown to the gateway: maybe not published yet (never seen), or its snapshot was lost with
  // Redis' data (seen before) and may still be restored. Only a real answer gets here: a gateway
  // that cannot reach Redis reports `bus_unavailable`, which goes through onError.
  const onExists = (id: string, exists: boolean) => {
    const job = jobs.get(id)
    if (!job) return
    job.expired = job.retries = 0
    if (exists) {
      o.clearTimeout(job.unknownTimer)
      job.unknownTimer = undefined
    } else if (job.unknownTimer === 0) fail(job, new JobLostError(job.last!))
    else
      job.unknownTimer ??= o.setTimeout(() => {
        if (!job.last) return fail(job, new JobNotFoundError(id))
        // Asked once more before the verdict: a snapshot restored with the seq already seen
        // brings no event, and a push subscription only says `exists` when it starts.
        job.unknownTimer = 0
        cur?.t.add(id, job.seq)
      }, job.last ? o.lostGrace : o.notFoundGrace)
  }

  const onError = (id: string, code: string, message: string, connection: Conn) => {
    const job = jobs.get(id)
    if (!job) return
    const action = wireCodeAction(code)
    // Only this job asks again, after a jittered backoff and from its cursor: the other jobs
    // of the connection carry on.
    if (action == 'retry') {
      o.clearTimeout(job.retryTimer)
      job.retryTimer = o.setTimeout(
        () => connection.dead || connection.t.add(id, job.seq),
        backoffDelay(job.retries++, o.reconnect),
      )
      return
    }
    // The token function is asked again; twice in a row without success means it cannot help.
    if (action == 'token' && job.expired++ < 2) return connection.t.add(id, job.seq)
    fail(
      job,
      code == 'attempts'
        ? new JobTimeoutError('attempts', id, job.last)
        : AUTH.test(code)
          ? new AuthError(code, message, id, job.last)
          : new JobcastClientError(code, `job ${id}: ${message}`, id, job.last),
    )
  }

  const drop = (job: Job) => {
    if (jobs.get(job.id) !== job) return
    jobs.delete(job.id)
    o.clearTimeout(job.unknownTimer)
    o.clearTimeout(job.retryTimer)
    cur?.t.remove(job.id)
    probe?.t.remove(job.id)
    if (!jobs.size) lingerT = o.setTimeout(idle, o.linger)
  }

  const fail = (j: Job, e: Error) => {
    drop(j)
    j.subs.forEach((s) => s.err(e))
  }

  // One watcher of one job: its own signal and deadline, checked against the clock on every
  // update because background tabs throttle timers.
  const follow = (
    id: string,
    onUp: (j: JobEvent, info: UpdateInfo) => void,
    onErr: ((e: Error) => void) | undefined,
    { signal, timeout }: WatchOptions = {},
  ) => {
    let done = false
    let last: JobEvent | undefined
    let t: unknown
    const deadline = timeout ? Date.now() + timeout : Infinity
    const stop = () => {
      if (done) return
      done = true
      o.clearTimeout(t)
      signal?.removeEventListener('abort', abort)
      const j = jobs.get(id)
      if (j?.subs.delete(s) && !j.subs.size) drop(j)
    }
    const err = (e: Error) => {
      if (!done) {
        stop()
        onErr?.(e)
      }
    }
    const abort = () => err(abortError())
    const check = () => Date.now() < deadline || (err(new JobTimeoutError('deadline', id, last)), false)
    // Timers past 2^31-1 ms fire at once (browsers and Node): cap the wait, or a long timeout
    // (or `Infinity`) would loop.
    const tick = () => {
      if (check()) t = o.setTimeout(tick, Math.min(deadline - Date.now(), 2e9))
    }
    const s: Sub = {
      up(j, info) {
        if (done || !check()) return
        last = j
        try {
          onUp(j, info)
        } catch (e) {
          return err(e as Error)
        }
        if (isTerminal(j)) stop()
      },
      err,
    }
    if (signal?.aborted) abort()
    else if (closing) err(closedError(id))
    else if (!ID.test(id)) err(new JobcastClientError('invalid_job_id', 'bad job id, must match ' + ID, id))
    else {
      signal?.addEventListener('abort', abort)
      if (timeout) tick()
      o.clearTimeout(lingerT)
      const j = jobs.get(id)
      if (j) {
        j.subs.add(s)
        if (j.last) s.up(j.last, { transport: name! })
      } else {
        // Subscribed first: a transport may fail the job synchronously (a throwing token function).
        jobs.set(id, { id, seq: 0, subs: new Set([s]), expired: 0, retries: 0 })
        if (cur) {
          cur.t.add(id, 0)
          probe?.t.add(id, 0)
        } else if (!retryT) open(idx, 'open')
      }
    }
    return stop
  }

  return {
    waitForJob: <R>(id: string, opt: WaitOptions = {}) =>
      new Promise<JobEvent<R>>((resolve, reject) =>
        follow(
          id,
          (j, info) => {
            opt.onProgress?.(j, info)
            if (j.status == 'completed') resolve(j as JobEvent<R>)
            else if (isTerminal(j)) reject(j.status == 'failed' ? new JobFailedError(j) : new JobCancelledError(j))
          },
          reject,
          opt,
        ),
      ),
    async *watch(id, opt) {
      const q: JobEvent[] = []
      let e: Error | undefined
      let wake = () => {}
      const stop = follow(
        id,
        (j) => {
          q.push(j)
          wake()
        },
        (x) => {
          e = x
          wake()
        },
        opt,
      )
      try {
        for (;;) {
          const j = q.shift()
          if (j) {
            yield j
            if (isTerminal(j)) return
          } else if (e) throw e
          else await new Promise<void>((r) => (wake = r))
        }
      } finally {
        stop()
      }
    },
    subscribe: (id, onUpdate, opt = {}) => follow(id, onUpdate, opt.onError, opt),
    onStateChange(f) {
      listeners.add(f)
      return () => listeners.delete(f)
    },
    get state() {
      return state
    },
    get transport() {
      return name
    },
    close() {
      if (!closing) {
        closing = Promise.resolve()
        jobs.forEach((j) =>
          fail(j, closedError(j.id, j.last)),
        )
        shut('closed', 'closed')
      }
      return closing
    },
  }
}
