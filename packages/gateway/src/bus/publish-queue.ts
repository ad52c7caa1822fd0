/**
 * The durable side of the Node publisher: events wait while the bus is down and are sent, in
 * order per job, when it is back; after a reconnect the last event of each recently published
 * job is restored first (Redis may have restarted empty). See docs/protocol.md, "Restoring a
 * lost snapshot", and README "Publishing from Node".
 */
import { JobcastError, isJobcastError } from '../errors.js'
import type { NormalizedEventInput } from '../event.js'
import type { JobStatus } from '../protocol.js'
import { MAX_TIMEOUT_MS } from '../timers.js'
import type { Bus, PublishOutcome } from './bus.js'
import { RecentEvents } from './recent-events.js'
import { restoreAll } from './restore.js'

/** Bounds of a {@link PublishQueue}; documented on `PublisherOptions`. */
export interface PublishQueueOptions {
  retryFor: number
  maxQueued: number
  restoreWindow: number
  maxRemembered: number
}

/** One call waiting for its outcome. */
interface Waiter {
  readonly resolve: (outcome: PublishOutcome) => void
  readonly reject: (error: unknown) => void
  /** When the call gives up (its `retryFor`), in ms since the epoch. */
  readonly deadline: number
  timer: ReturnType<typeof setTimeout> | undefined
  settled: boolean
}

/** One event to send, and every call it answers (more than one after progress events merged). */
interface Entry {
  input: NormalizedEventInput
  /** May be replaced by a newer progress event: it is itself one (`active` after `active`). */
  readonly replaceable: boolean
  readonly waiters: Waiter[]
  readonly job: JobQueue
}

/** The events of one job not yet settled: at most one is sent at a time, so order holds even across a resend. */
interface JobQueue {
  readonly id: string
  readonly waiting: Entry[]
  sending: Entry | undefined
}

/** Delay before sending again when the bus failed a command but still reports `up`, in ms. */
const RETRY_DELAY_MS = 250

/** Queue of publishes over a {@link Bus}; the Node publisher's engine. */
export class PublishQueue {
  readonly #bus: Bus
  readonly #options: PublishQueueOptions
  readonly #jobs = new Map<string, JobQueue>()
  readonly #remembered: RecentEvents
  readonly #offState: () => void
  #waitingCount = 0
  /** Set when the bus comes back after a drop; cleared once the remembered jobs are restored. */
  #restoreNeeded = false
  #restoring = false
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #idle: (() => void)[] = []
  /** No new calls (close() was called). */
  #closed = false
  /** close() gave up: a failed send is rejected, not queued again. */
  #abandoned = false

  constructor(bus: Bus, options: PublishQueueOptions) {
    this.#bus = bus
    this.#options = options
    this.#remembered = new RecentEvents({ windowMs: options.restoreWindow, maxJobs: options.maxRemembered })
    this.#offState = bus.onStateChange((state, previous) => {
      if (state !== 'up') return
      if (previous === 'down' && this.#remembered.size > 0) this.#restoreNeeded = true
      this.#pump()
    })
  }

  /** Sends `input` now or when the bus is back; see `Publisher` for the rules. */
  publish(input: NormalizedEventInput): Promise<PublishOutcome> {
    if (this.#closed) return Promise.reject(new JobcastError('bus_unavailable', 'the publisher is closed: create a new one', { jobId: input.id }))
    let job = this.#jobs.get(input.id)
    if (!job) this.#jobs.set(input.id, (job = { id: input.id, waiting: [], sending: undefined }))
    const queue = job
    return new Promise<PublishOutcome>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, deadline: Date.now() + this.#options.retryFor, timer: undefined, settled: false }
      const last = queue.waiting.at(-1)
      if (last?.replaceable && input.status === 'active') {
        // Latest wins: the merged calls all resolve with the outcome of the event sent.
        last.input = input
        last.waiters.push(waiter)
      } else if (this.#waitingCount >= this.#options.maxQueued && (queue.sending || !this.#canSend())) {
        this.#forgetIfIdle(queue)
        reject(this.#boundError('maxQueued', input))
        return
      } else {
        const before = last?.input.status ?? queue.sending?.input.status ?? this.#remembered.get(input.id)?.event.status
        queue.waiting.push({ input, replaceable: isProgressAfter(input.status, before), waiters: [waiter], job: queue })
        this.#waitingCount++
      }
      // Past setTimeout's range the wait is unbounded in practice: no timer.
      if (this.#options.retryFor <= MAX_TIMEOUT_MS) waiter.timer = setTimeout(() => this.#expire(waiter, queue), this.#options.retryFor)
      if (!queue.sending) this.#sendNext(queue)
    })
  }

  /** Resolves when nothing waits or is being sent. */
  flush(): Promise<void> {
    if (this.#jobs.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /**
   * Refuses new calls, waits up to `timeoutMs` for the queue to empty, then rejects what still
   * waits with `bus_unavailable`. Events being sent settle with their reply (the bus bounds
   * them with its command timeout).
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(timeoutMs, MAX_TIMEOUT_MS))))])
    clearTimeout(timer)
    this.#abandoned = true
    clearTimeout(this.#retryTimer)
    for (const job of [...this.#jobs.values()]) {
      for (const entry of job.waiting.splice(0)) {
        this.#waitingCount--
        this.#rejectAll(entry, this.#closeError(timeoutMs, entry.input))
      }
      this.#forgetIfIdle(job)
    }
    await this.flush()
    this.#offState()
  }

  #canSend(): boolean {
    return this.#bus.state === 'up' && !this.#restoreNeeded && !this.#restoring && !this.#abandoned
  }

  /** Sends the head of every job that has nothing in flight (after restoring, when needed). */
  #pump(): void {
    if (this.#bus.state !== 'up' || this.#abandoned) return
    if (this.#restoreNeeded) return void this.#restore()
    for (const job of [...this.#jobs.values()]) if (!job.sending) this.#sendNext(job)
  }

  async #restore(): Promise<void> {
    if (this.#restoring) return
    this.#restoring = true
    this.#restoreNeeded = false
    try {
      await restoreAll(this.#bus, this.#remembered.live())
    } catch (error) {
      // Only an outage is worth another pass; a refused restore cannot succeed later.
      if (isJobcastError(error) && error.code === 'bus_unavailable') this.#restoreNeeded = true
    } finally {
      this.#restoring = false
    }
    if (this.#restoreNeeded) this.#retrySoon()
    else this.#pump()
  }

  #sendNext(job: JobQueue): void {
    if (job.waiting.length === 0) return this.#forgetIfIdle(job)
    if (!this.#canSend()) return
    const entry = job.waiting.shift()!
    this.#waitingCount--
    job.sending = entry
    this.#bus.publish(entry.input).then(
      (outcome) => {
        job.sending = undefined
        const stored = outcome.published ? outcome.event : outcome.current
        this.#remembered.remember({ event: stored, json: JSON.stringify(stored) })
        for (const waiter of entry.waiters) this.#settle(waiter, () => waiter.resolve(outcome))
        this.#sendNext(job)
      },
      (error: unknown) => {
        job.sending = undefined
        const outage = isJobcastError(error) && error.code === 'bus_unavailable'
        if (!outage || this.#abandoned) {
          this.#rejectAll(entry, error)
          return this.#sendNext(job)
        }
        // The reply may have been lost after the script ran: the identical event (same ts)
        // is answered with its first outcome, so sending it again is safe.
        const now = Date.now()
        for (const waiter of entry.waiters) if (waiter.deadline <= now) this.#settle(waiter, () => waiter.reject(this.#boundError('retryFor', entry.input, error)))
        const alive = entry.waiters.filter((waiter) => !waiter.settled)
        if (alive.length === 0) return this.#sendNext(job)
        entry.waiters.splice(0, entry.waiters.length, ...alive)
        job.waiting.unshift(entry)
        this.#waitingCount++
        this.#retrySoon()
      },
    )
  }

  /** A call's `retryFor` ran out. One being sent is left to its reply (it may still land). */
  #expire(waiter: Waiter, job: JobQueue): void {
    waiter.timer = undefined
    const index = job.waiting.findIndex((entry) => entry.waiters.includes(waiter))
    if (index < 0) return
    const entry = job.waiting[index]!
    this.#settle(waiter, () => waiter.reject(this.#boundError('retryFor', entry.input)))
    entry.waiters.splice(entry.waiters.indexOf(waiter), 1)
    if (entry.waiters.length > 0) return
    job.waiting.splice(index, 1)
    this.#waitingCount--
    this.#forgetIfIdle(job)
  }

  /** Pumps again soon: on the next `up`, or after a short delay when the bus still says `up`. */
  #retrySoon(): void {
    if (this.#retryTimer || this.#abandoned) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#pump()
    }, RETRY_DELAY_MS)
  }

  #settle(waiter: Waiter, settle: () => void): void {
    if (waiter.settled) return
    waiter.settled = true
    clearTimeout(waiter.timer)
    settle()
  }

  #rejectAll(entry: Entry, error: unknown): void {
    for (const waiter of entry.waiters) this.#settle(waiter, () => waiter.reject(error))
  }

  #forgetIfIdle(job: JobQueue): void {
    if (job.sending || job.waiting.length > 0 || this.#jobs.get(job.id) !== job) return
    this.#jobs.delete(job.id)
    if (this.#jobs.size > 0) return
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }

  #boundError(bound: 'retryFor' | 'maxQueued', input: NormalizedEventInput, cause?: unknown): JobcastError {
    const what = `the ${input.status} event of job ${input.id}`
    const message =
      bound === 'retryFor'
        ? `${what} was not published: Redis stayed unavailable for retryFor (${this.#options.retryFor} ms). Check that Redis runs and the URL points at it, or raise retryFor`
        : `${what} was refused: maxQueued (${this.#options.maxQueued}) events already wait for Redis. Check that Redis runs, or raise maxQueued`
    return new JobcastError('bus_unavailable', message, { jobId: input.id, cause })
  }

  #closeError(timeoutMs: number, input: NormalizedEventInput): JobcastError {
    return new JobcastError(
      'bus_unavailable',
      `the ${input.status} event of job ${input.id} was not published: close() waited closeTimeout (${timeoutMs} ms) for Redis. Call flush() before close(), or raise closeTimeout`,
      { jobId: input.id },
    )
  }
}

/**
 * Is an event of `status` after one of `previous` a progress event, which a newer progress
 * event of the same job may replace while both wait? Only `active` after `active`: a status
 * change (the first `active`, `queued`, any terminal event) is never merged away.
 */
export function isProgressAfter(status: JobStatus, previous: JobStatus | undefined): boolean {
  return status === 'active' && previous === 'active'
}
