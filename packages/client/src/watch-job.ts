import { JobTimeoutError, abortError } from './errors.js'
import { isTerminal } from './is-terminal.js'
import type { Resolved, UpdateInfo, WatchOptions } from './options.js'
import type { JobEvent } from './protocol.js'

/** One caller watching one job, as the job tracker sees it. */
export interface Watcher {
  /** A new event of the job (its current one first). */
  event_(job: JobEvent, info: UpdateInfo): void
  /** Watching ended with an error (not found, lost, auth, client closed, …). */
  fail_(error: Error): void
}

/** Where watchers attach: the job tracker. */
export interface WatchTarget {
  /** Why `id` cannot be watched now (client closed, invalid id), if it cannot. */
  refusal_(id: string): Error | undefined
  /** Starts delivering the job's updates to `watcher`, its current state first. */
  attach_(id: string, watcher: Watcher): void
  /** Stops delivering to `watcher`; the job is let go once nobody watches it. */
  detach_(id: string, watcher: Watcher): void
}

/** Browsers and Node fire a timer set past 2^31-1 ms at once: longer waits go in steps. */
const LONGEST_TIMER_DELAY = 2e9

/**
 * Watches one job for one caller. Returns a function that stops watching; calling it again
 * does nothing.
 */
export type WatchJob = (
  id: string,
  /** Every update; if it throws, watching ends with that error. */
  onUpdate: (job: JobEvent, info: UpdateInfo) => void,
  /** Called once if watching ends with an error. */
  onError: ((error: Error) => void) | undefined,
  options?: WatchOptions,
) => () => void

/**
 * The watch function of a client: each watch has its caller's own abort signal and deadline.
 * The deadline is also checked against the clock on every update, because background tabs
 * throttle timers.
 */
export const createWatchJob =
  (target: WatchTarget, settings: Resolved): WatchJob =>
  (id, onUpdate, onError, { signal, timeout } = {}) => {
    let stopped = false
    let lastEvent: JobEvent | undefined
    let deadlineTimer: unknown
    const deadline = timeout ? Date.now() + timeout : Infinity

    const stop = () => {
      if (stopped) return
      stopped = true
      settings.clearTimeout(deadlineTimer)
      signal?.removeEventListener('abort', abort)
      target.detach_(id, watcher)
    }
    const fail = (error: Error) => {
      if (stopped) return
      stop()
      onError?.(error)
    }
    const abort = () => fail(abortError())
    const beforeDeadline = () => {
      if (Date.now() < deadline) return true
      fail(new JobTimeoutError('deadline', id, lastEvent))
      return false
    }
    const armDeadline = () => {
      if (beforeDeadline()) deadlineTimer = settings.setTimeout(armDeadline, Math.min(deadline - Date.now(), LONGEST_TIMER_DELAY))
    }
    const watcher: Watcher = {
      event_(job, info) {
        if (stopped || !beforeDeadline()) return
        lastEvent = job
        try {
          onUpdate(job, info)
        } catch (error) {
          return fail(error as Error)
        }
        if (isTerminal(job)) stop()
      },
      fail_: fail,
    }

    const refusal = signal?.aborted ? abortError() : target.refusal_(id)
    if (refusal) fail(refusal)
    else {
      signal?.addEventListener('abort', abort)
      if (timeout) armDeadline()
      target.attach_(id, watcher)
    }
    return stop
  }
