import { parseRetryAfter, pollDelay } from '../backoff.js'
import type { JobEvent } from '../protocol.js'
import { authorization, missingRoute, readRefusal, type TransportFactory } from './transport.js'

/** The polling of one job. */
interface JobPoll {
  /** Seq of the last event received: sent back as `If-None-Match`. */
  cursor_: number
  /** Requests made so far, counted against `maxAttempts`. */
  requests_: number
  /** Answers in a row without a `Retry-After`: the backoff grows with them. */
  unpaced_: number
  /** The job's token, asked for once per poll (a new one after `token_expired`). */
  token_?: Promise<string | undefined>
  /** The next poll, or the abandon of a request that hangs. */
  timer_?: unknown
  /** Aborts the request in flight. */
  controller_?: AbortController
}

/**
 * `GET /v1/jobs/:id` per job with `If-None-Match`, at the gateway's pace (`Retry-After`), else
 * with exponential backoff and full jitter. Retryable errors (wire-codes.ts) are polled through;
 * the others end the job. Slower while the page is hidden; polls at once when it becomes
 * visible or the browser comes back online.
 */
export const polling: TransportFactory = ({ settings_: settings, sink_: sink, token_: token }) => {
  const polls = new Map<string, JobPoll>()
  /** The gateway answered a request of this connection. */
  let answered = false
  const { page_: page, network_: network } = settings
  const hidden = () => page?.visibilityState == 'hidden'

  const poll = async (id: string, jobPoll: JobPoll) => {
    settings.clearTimeout(jobPoll.timer_)
    jobPoll.controller_?.abort()
    const controller = (jobPoll.controller_ = new AbortController())
    let retryAfter = 0
    if (jobPoll.requests_++ >= settings.maxAttempts) return sink.error_(id, 'attempts', '')
    // A request that hangs (a proxy holding it, a half-open connection) would stall polling
    // for good: abandon it after heartbeatTimeout and retry as after a network error.
    jobPoll.timer_ = settings.setTimeout(() => controller.abort(), settings.heartbeatTimeout)
    try {
      const response = await settings.fetch(`${settings.url}/v1/jobs/${encodeURIComponent(id)}`, {
        headers: {
          ...authorization(await (jobPoll.token_ ??= token(id))),
          ...(jobPoll.cursor_ && { 'if-none-match': `"${jobPoll.cursor_}"` }),
        },
        // No `cache` option: with If-None-Match set, fetch bypasses the HTTP cache by itself
        // (Fetch standard, "HTTP-network-or-cache fetch"); the gateway answers no-cache.
        signal: controller.signal,
      })
      const status = response.status
      const refusal = status < 400 ? undefined : await readRefusal(response)
      // Not an answer about the job: the `url` reaches no gateway.
      if (missingRoute(refusal)) return sink.fail_(true)
      answered = true
      sink.alive_()
      retryAfter = parseRetryAfter(response.headers.get('retry-after'))
      if (status == 200) {
        const job = (await response.json()) as JobEvent
        jobPoll.cursor_ = job.seq
        sink.event_(job)
      }
      // 200, 304 and 404 (job_not_found, a missing route returned above) also tell whether the
      // job exists (and that the token was accepted).
      if (status < 400 || status == 404) sink.exists_(id, status < 400)
      else if (refusal) return sink.error_(id, refusal.code, refusal.message)
    } catch {
      // Network error, or aborted (checked below).
    }
    // Only the latest request of this poll goes on (a wake-up may have started a newer one).
    if (jobPoll.controller_ != controller) return
    settings.clearTimeout(jobPoll.timer_)
    if (polls.get(id) != jobPoll) return
    // Polling rides out failed requests once the gateway has answered; before that (nothing
    // listening, CORS refused), it fails like a push transport that never came up.
    if (!answered) return sink.fail_()
    if (retryAfter) jobPoll.unpaced_ = 0
    const delay = pollDelay(retryAfter, retryAfter ? 0 : jobPoll.unpaced_++, settings.poll)
    jobPoll.timer_ = settings.setTimeout(() => poll(id, jobPoll), delay * (hidden() ? settings.hiddenSlowdown : 1))
  }

  const stop = (jobPoll: JobPoll | undefined) => {
    settings.clearTimeout(jobPoll?.timer_)
    jobPoll?.controller_?.abort()
  }

  const pollAll = () => polls.forEach((jobPoll, id) => poll(id, jobPoll))
  const pollIfVisible = () => {
    if (!hidden()) pollAll()
  }
  page?.addEventListener('visibilitychange', pollIfVisible)
  network?.addEventListener('online', pollAll)

  return {
    subscribe_(id, since) {
      const previous = polls.get(id)
      stop(previous)
      const jobPoll: JobPoll = { cursor_: since, requests_: previous?.requests_ ?? 0, unpaced_: 0 }
      polls.set(id, jobPoll)
      poll(id, jobPoll)
    },
    unsubscribe_(id) {
      stop(polls.get(id))
      polls.delete(id)
    },
    close_() {
      polls.forEach(stop)
      polls.clear()
      page?.removeEventListener('visibilitychange', pollIfVisible)
      network?.removeEventListener('online', pollAll)
    },
  }
}
