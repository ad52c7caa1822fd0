import { parseRetryAfter, pollDelay } from '../backoff.js'
import type { JobEvent } from '../protocol.js'
import type { TransportFactory } from './transport.js'
import { auth, readRefusal } from './transport.js'

interface Poll {
  since: number
  /** Requests made so far. */
  n: number
  /** Answers in a row without a `Retry-After`: the backoff grows with them. */
  unpaced: number
  tok?: Promise<string | undefined>
  timer?: unknown
  ctrl?: AbortController
}

/**
 * `GET /v1/jobs/:id` per job with `If-None-Match`, at the gateway's pace (`Retry-After`), else
 * with exponential backoff and full jitter. Retryable errors (wire-codes.ts) are polled through;
 * the others end the job. Slower while the page is hidden; polls at once when it becomes
 * visible or the browser comes back online.
 */
export const polling: TransportFactory = ({ options: o, sink, token }) => {
  const polls = new Map<string, Poll>()
  const g = globalThis as Partial<Window & typeof globalThis>
  const hidden = () => g.document?.visibilityState == 'hidden'

  const poll = async (id: string, p: Poll) => {
    o.clearTimeout(p.timer)
    p.ctrl?.abort()
    const c = (p.ctrl = new AbortController())
    let retryAfter = 0
    if (p.n++ >= o.maxAttempts) return sink.error(id, 'attempts', '')
    // A request that hangs (a proxy holding it, a half-open connection) would stall polling
    // for good: abandon it after heartbeatTimeout and retry as after a network error.
    p.timer = o.setTimeout(() => c.abort(), o.heartbeatTimeout)
    try {
      const res = await o.fetch(`${o.url}/v1/jobs/${encodeURIComponent(id)}`, {
        headers: { ...auth(await (p.tok ??= token(id))), ...(p.since && { 'if-none-match': `"${p.since}"` }) },
        // No `cache` option: with If-None-Match set, fetch bypasses the HTTP cache by itself
        // (Fetch standard, "HTTP-network-or-cache fetch"); the gateway answers no-cache.
        signal: c.signal,
      })
      sink.alive()
      retryAfter = parseRetryAfter(res.headers.get('retry-after'))
      const status = res.status
      if (status == 200) {
        const job = (await res.json()) as JobEvent
        p.since = job.seq
        sink.event(job)
      }
      // 200, 304 and 404 also tell whether the job exists (and that the token was accepted).
      if (status < 400 || status == 404) sink.exists(id, status != 404)
      else {
        const refusal = await readRefusal(res)
        if (refusal) return sink.error(id, refusal.code, refusal.message)
      }
    } catch {
      // Network error, or aborted (checked below).
    }
    // Only the latest request of this poll goes on (a wake-up may have started a newer one).
    if (p.ctrl != c) return
    o.clearTimeout(p.timer)
    if (polls.get(id) == p)
      p.timer = o.setTimeout(
        () => poll(id, p),
        pollDelay(retryAfter, retryAfter ? (p.unpaced = 0) : p.unpaced++, o.poll) * (hidden() ? o.hiddenSlowdown : 1),
      )
  }

  const stop = (p?: Poll) => {
    o.clearTimeout(p?.timer)
    p?.ctrl?.abort()
  }

  const all = () => polls.forEach((p, id) => poll(id, p))
  const wake = () => hidden() || all()
  g.document?.addEventListener('visibilitychange', wake)
  g.addEventListener?.('online', all)

  return {
    add(id, since) {
      const old = polls.get(id)
      stop(old)
      const p: Poll = { since, n: old?.n ?? 0, unpaced: 0 }
      polls.set(id, p)
      poll(id, p)
    },
    remove(id) {
      stop(polls.get(id))
      polls.delete(id)
    },
    close() {
      polls.forEach(stop)
      polls.clear()
      g.document?.removeEventListener('visibilitychange', wake)
      g.removeEventListener?.('online', all)
    },
  }
}
