import { JobCancelledError, JobFailedError } from './errors.js'
import { isTerminal } from './is-terminal.js'
import { createJobTracker } from './job-tracker.js'
import type {
  ClientOptions,
  ConnectionState,
  StateChange,
  SubscribeOptions,
  TransportName,
  UpdateInfo,
  WaitOptions,
  WatchOptions,
} from './options.js'
import { resolveOptions } from './options.js'
import type { JobEvent } from './protocol.js'
import { createWatchJob } from './watch-job.js'


/** A jobcast client: one connection shared by every job it watches. */
export interface JobcastClient {
  /**
   * Resolves with the `completed` event. Rejects with `JobFailedError`, `JobCancelledError`,
   * `JobTimeoutError`, `JobNotFoundError`, `JobLostError`, `AuthError`, `GatewayError` (no
   * gateway route at `url`), an `AbortError`, a `JobcastClientError` with a fatal wire code or,
   * after `close()`, coded `client_closed`. Does not reject while the state is `unavailable`:
   * it settles once the gateway is reachable again (pass a `timeout` to bound it).
   * @example const job = await client.waitForJob('export-42', { onProgress: (j) => (bar.value = j.progress ?? bar.value) })
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

/**
 * Creates a client. Nothing connects until a job is watched.
 * @example
 * const jobs = createClient({ url: 'https://api.example.com/jobcast', token: (id) => getToken(id) })
 * const job = await jobs.waitForJob('export-42')
 */
export function createClient(options: ClientOptions): JobcastClient {
  const settings = resolveOptions(options)
  const tracker = createJobTracker(settings)
  const connection = tracker.connection_
  let closing: Promise<void> | undefined

  const watch = createWatchJob(tracker, settings)

  return {
    waitForJob: <R>(id: string, waitOptions: WaitOptions = {}) =>
      new Promise<JobEvent<R>>((resolve, reject) => {
        const onUpdate = (job: JobEvent, info: UpdateInfo) => {
          waitOptions.onProgress?.(job, info)
          if (job.status == 'completed') resolve(job as JobEvent<R>)
          else if (isTerminal(job)) reject(job.status == 'failed' ? new JobFailedError(job) : new JobCancelledError(job))
        }
        watch(id, onUpdate, reject, waitOptions)
      }),

    async *watch(id, watchOptions) {
      const queue: JobEvent[] = []
      let failure: Error | undefined
      let wake = () => {}
      const stop = watch(
        id,
        (job) => {
          queue.push(job)
          wake()
        },
        (error) => {
          failure = error
          wake()
        },
        watchOptions,
      )
      try {
        for (;;) {
          const job = queue.shift()
          if (job) {
            yield job
            if (isTerminal(job)) return
          } else if (failure) throw failure
          else await new Promise<void>((resolve) => (wake = resolve))
        }
      } finally {
        stop()
      }
    },

    subscribe: (id, onUpdate, subscribeOptions = {}) => watch(id, onUpdate, subscribeOptions.onError, subscribeOptions),

    onStateChange: connection.listen_,

    get state() {
      return connection.state_
    },
    get transport() {
      return connection.transportName_
    },

    close() {
      if (!closing) {
        closing = Promise.resolve()
        tracker.close_()
      }
      return closing
    },
  }
}
