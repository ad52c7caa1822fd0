import { backoffDelay } from './backoff.js'
import { createConnection, type Connection } from './connection.js'
import { AuthError, JobLostError, JobNotFoundError, JobTimeoutError, JobcastClientError } from './errors.js'
import { isTerminal } from './is-terminal.js'
import type { Resolved, TransportName } from './options.js'
import type { JobEvent } from './protocol.js'
import type { Watcher, WatchTarget } from './watch-job.js'
import { wireCodeAction } from './wire-codes.js'

/** docs/protocol.md, "Event": checked before anything is sent. */
const JOB_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const AUTH_CODES = /^(unauthorized|forbidden|token_expired)$/
/** `token_expired` answers in a row after which a fresh token is not expected to help. */
const TOKEN_REFRESHES = 2

/** A job some caller watches. */
interface TrackedJob {
  jobId_: string
  /** Seq of the last event delivered: transports resume after it, older or repeated events are dropped. */
  cursor_: number
  lastEvent_?: JobEvent
  watchers_: Set<Watcher>
  /**
   * Runs while the gateway says it does not know the job: `notFoundGrace`, or `lostGrace` once
   * the job was seen; `0` once that grace is over and the job is being asked for one last time.
   */
  unknownTimer_?: unknown
  /** `token_expired` in a row without the gateway accepting a fresh token (`subscribed`, 200/304 reset it). */
  expiredInARow_: number
  /** Retries in a row after a retryable wire error (an event or `subscribed` resets it). */
  retriesInARow_: number
  /** Pending retry after a retryable wire error. */
  retryTimer_?: unknown
}

/** The jobs of a client and the connection that carries them. */
export interface JobTracker extends WatchTarget {
  readonly connection_: Connection
  /** Fails every job with `client_closed`, refuses new ones, and closes the connection. */
  close_(): void
}

/** The error a fatal wire code (or polling's `attempts`) rejects a job's watchers with. */
const fatalError = (code: string, message: string, id: string, lastEvent: JobEvent | undefined): JobcastClientError => {
  if (code == 'attempts') return new JobTimeoutError('attempts', id, lastEvent)
  if (AUTH_CODES.test(code)) return new AuthError(code, message, id, lastEvent)
  return new JobcastClientError(code, `job ${id}: ${message}`, id, lastEvent)
}

const closedError = (jobId: string, job?: JobEvent) => new JobcastClientError('client_closed', 'client closed', jobId, job)

/**
 * Tracks every watched job: its cursor and last event, its watchers, the not-found and lost
 * graces, and its own retries after wire errors. Owns the connection that carries the jobs.
 */
export const createJobTracker = (settings: Resolved): JobTracker => {
  const jobs = new Map<string, TrackedJob>()
  let closed = false

  const token = async (id: string): Promise<string | undefined> => {
    try {
      const source = settings.token
      return typeof source == 'function' ? await source(id) : source
    } catch (cause) {
      const job = jobs.get(id)
      if (job) fail(job, new JobcastClientError('token_error', 'token() threw', id, undefined, cause))
      // Never settles: the job is gone, so whoever asked has nothing left to do.
      return new Promise<never>(() => {})
    }
  }

  const drop = (job: TrackedJob) => {
    if (jobs.get(job.jobId_) !== job) return
    jobs.delete(job.jobId_)
    settings.clearTimeout(job.unknownTimer_)
    settings.clearTimeout(job.retryTimer_)
    connection.unsubscribe_(job.jobId_)
  }

  const fail = (job: TrackedJob, error: Error) => {
    drop(job)
    job.watchers_.forEach((watcher) => watcher.fail_(error))
  }

  const onEvent = (event: JobEvent, transport: TransportName) => {
    const job = jobs.get(event.id)
    // seq only grows but is not consecutive: compare, never expect +1.
    if (!job || !(event.seq > job.cursor_)) return
    job.cursor_ = event.seq
    job.lastEvent_ = event
    onExists(event.id, true)
    job.watchers_.forEach((watcher) => watcher.event_(event, { transport }))
    if (isTerminal(event)) drop(job)
  }

  // Unknown to the gateway: maybe not published yet (never seen), or its snapshot was lost with
  // Redis' data (seen before) and may still be restored. Only a real answer gets here: a gateway
  // that cannot reach Redis reports `bus_unavailable`, which goes through onError.
  const onExists = (id: string, exists: boolean) => {
    const job = jobs.get(id)
    if (!job) return
    // The gateway answered with the current token: the error streaks are over.
    job.expiredInARow_ = job.retriesInARow_ = 0
    if (exists) {
      settings.clearTimeout(job.unknownTimer_)
      job.unknownTimer_ = undefined
    } else if (job.unknownTimer_ === 0) fail(job, job.lastEvent_ ? new JobLostError(job.lastEvent_) : new JobNotFoundError(id))
    else
      job.unknownTimer_ ??= settings.setTimeout(
        () => {
          // Asked once more before the verdict: polling may be between two backed-off asks while
          // the job appeared, a snapshot restored with the seq already seen brings no event, and
          // a push subscription only says `exists` when it starts.
          job.unknownTimer_ = 0
          connection.askAgain_(id, job.cursor_)
        },
        job.lastEvent_ ? settings.lostGrace : settings.notFoundGrace,
      )
  }

  const onError = (id: string, code: string, message: string, resubscribe: (id: string, since: number) => void) => {
    const job = jobs.get(id)
    if (!job) return
    const action = wireCodeAction(code)
    // Only this job asks again, after a jittered backoff and from its cursor: the other jobs
    // of the connection carry on.
    if (action == 'retry') {
      settings.clearTimeout(job.retryTimer_)
      job.retryTimer_ = settings.setTimeout(
        () => resubscribe(id, job.cursor_),
        backoffDelay(job.retriesInARow_++, settings.reconnect),
      )
      return
    }
    // The token function is asked again (the transport does so on resubscribing).
    if (action == 'token' && job.expiredInARow_++ < TOKEN_REFRESHES) return resubscribe(id, job.cursor_)
    fail(job, fatalError(code, message, id, job.lastEvent_))
  }

  const connection = createConnection(settings, {
    jobs_: jobs,
    token_: token,
    event_: onEvent,
    exists_: onExists,
    error_: onError,
    failAll_: (error) => jobs.forEach((job) => fail(job, error)),
  })

  return {
    connection_: connection,
    refusal_(id) {
      if (closed) return closedError(id)
      if (!JOB_ID.test(id)) return new JobcastClientError('invalid_job_id', 'bad job id, must match ' + JOB_ID, id)
    },
    attach_(id, watcher) {
      const job = jobs.get(id)
      if (job) {
        job.watchers_.add(watcher)
        if (job.lastEvent_) watcher.event_(job.lastEvent_, { transport: connection.transportName_! })
        return
      }
      // Watched first: a transport may fail the job synchronously (a throwing token function).
      jobs.set(id, { jobId_: id, cursor_: 0, watchers_: new Set([watcher]), expiredInARow_: 0, retriesInARow_: 0 })
      connection.subscribe_(id)
    },
    detach_(id, watcher) {
      const job = jobs.get(id)
      if (job?.watchers_.delete(watcher) && !job.watchers_.size) drop(job)
    },
    close_() {
      closed = true
      jobs.forEach((job) => fail(job, closedError(job.jobId_, job.lastEvent_)))
      connection.close_()
    },
  }
}
