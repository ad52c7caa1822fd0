/**
 * `useJob(id, options)`: the latest state of one job in a React component.
 */
import { useEffect, useState } from 'react'
import { acquireClient, type JobSubscriber } from '../element/client-cache.js'
import { JobCancelledError, JobFailedError } from '../errors.js'
import type { ClientOptions, TransportName } from '../options.js'
import type { JobEvent, JobStatus } from '../protocol.js'

/** Options of {@link useJob}: the client's options (shared per `url` + `token`), or a client of your own. */
export interface UseJobOptions extends Partial<ClientOptions> {
  /**
   * A client to use instead of the shared one made from `url` (absolute, or relative to the
   * page) and `token`; the hook does not close it. One of `client` or `url` is required.
   * @default undefined
   */
  client?: JobSubscriber
}

/** What {@link useJob} returns. */
export interface UseJobResult<R = Record<string, unknown>> {
  /** The latest event, or `undefined` before the first one. */
  job: JobEvent<R> | undefined
  /** `job.status`, or `'idle'` (no id) / `'connecting'` (nothing received yet) / `'error'`. */
  status: JobStatus | 'idle' | 'connecting' | 'error'
  /** Percent done, 0–100 (100 once completed). */
  progress: number
  /** Why watching failed: the job's own error on `failed`, or not found, auth, timeout… */
  error: Error | undefined
  /** The transport that delivered the latest event. */
  transport: TransportName | undefined
}

interface HookState {
  key: string | undefined
  job: JobEvent | undefined
  progress: number
  error: Error | undefined
  transport: TransportName | undefined
}

const EMPTY: HookState = { key: undefined, job: undefined, progress: 0, error: undefined, transport: undefined }

/**
 * Watches job `id` (pass `undefined`/`null` to watch nothing) and re-renders on every update.
 * Unsubscribes on unmount and when `id` changes. All hooks on a page with the same `url` and
 * `token` share one client, hence one WebSocket; a StrictMode double mount reuses it.
 * A token function is compared by identity: keep it stable (`useCallback`, or define it
 * outside the component), or each render resubscribes.
 *
 * @example
 * ```tsx
 * const { status, progress, job, error } = useJob(jobId, { url: '/jobcast', token })
 * ```
 */
export function useJob<R = Record<string, unknown>>(id: string | null | undefined, options: UseJobOptions): UseJobResult<R> {
  const { client, url, token } = options
  const [state, setState] = useState<HookState>(EMPTY)
  // Other client options are read once, when the shared client is created.
  const [initialOptions] = useState(options)

  useEffect(() => {
    if (!id) return
    let lease: { client: JobSubscriber; release(): void } | undefined
    let target = client
    if (!target) {
      if (!url) throw new Error('[jobcast] useJob needs options.url (the gateway URL) or options.client')
      // A relative URL ('/jobcast') means this page's origin, as for <jobcast-progress src>.
      const absolute = typeof document === 'undefined' ? url : new URL(url, document.baseURI).href
      lease = acquireClient({ ...initialOptions, url: absolute, token })
      target = lease.client
    }
    let active = true
    const unsubscribe = target.subscribe(
      id,
      (job, info) => {
        if (!active) return
        setState((s) => ({
          key: id,
          job,
          // A failed event usually carries no progress: keep where the job stopped.
          progress: clamp(job.progress ?? (job.status === 'completed' ? 100 : s.key === id ? s.progress : 0)),
          transport: info.transport,
          error: jobError(job),
        }))
      },
      {
        onError: (error) => {
          if (active && error.name !== 'AbortError') setState((s) => ({ ...s, key: id, error }))
        },
      },
    )
    return () => {
      active = false
      unsubscribe()
      lease?.release()
    }
  }, [id, client, url, token, initialOptions])

  // State from a previous id is never shown for the new one.
  const current = state.key === id && id ? state : EMPTY
  const job = current.job as JobEvent<R> | undefined
  const status: UseJobResult['status'] = !id
    ? 'idle'
    : job
      ? job.status
      : current.error
        ? 'error'
        : 'connecting'
  return { job, status, progress: current.progress, error: current.error, transport: current.transport }
}

const clamp = (n: number): number => Math.max(0, Math.min(100, n))

function jobError(job: JobEvent): Error | undefined {
  if (job.status === 'failed') return new JobFailedError(job)
  if (job.status === 'cancelled') return new JobCancelledError(job)
  return undefined
}
