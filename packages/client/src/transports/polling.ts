import { backoffDelay, parseRetryAfter } from '../backoff.js'
import type { JobEvent } from '../protocol.js'
import type { TransportFactory } from './transport.js'
import { auth, readError } from './transport.js'

interface Poll {
  since: number
  /** Requests made so far. */
  n: number
  tok?: Promise<string | undefined>
  timer?: unknown
  ctrl?: AbortController
}

/**
 * `GET /v1/jobs/:id` per job with `If-None-Match`, exponential backoff with full jitter,
 * never sooner than the gateway's `Retry-After`. Slower while the page is hidden; polls at
 * once when it becomes visible or the browser comes back online.
 */
export const polling: TransportFactory = ({ options: o, sink, token }) => {
  const polls = new Map<string, Poll>()
  const g = globalThis as Partial<Window & typeof globalThis>
  const hidden = () => g.document?.visibilityState == 'hidden'

  const poll = async (id: string, p: Poll) => {
    o.clearTimeout(p.timer)
    p.ctrl?.abort()
    const c = (p.ctrl = new AbortController())
    let wait = 0
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
      wait = parseRetryAfter(res.headers.get('retry-after'))
      const s = res.status
      if (s == 401 || s == 403) {
        const e = await readError(res)
        return sink.error(id, e.code, e.message)
      }
      if (s == 200) {
        const job = (await res.json()) as JobEvent
        p.since = job.seq
        sink.event(job)
      }
      // 200, 304 and 404 also tell whether the job exists (and that the token was accepted).
      if (s < 400 || s == 404) sink.exists(id, s != 404)
      // 304, 429, 5xx: nothing new; try again later.
    } catch {
      // Network error, or aborted (checked below).
    }
    // Only the latest request of this poll goes on (a wake-up may have started a newer one).
    if (p.ctrl != c) return
    o.clearTimeout(p.timer)
    if (polls.get(id) == p)
      p.timer = o.setTimeout(
        () => poll(id, p),
        Math.max(wait, backoffDelay(p.n - 1, o.poll)) * (hidden() ? o.hiddenSlowdown : 1),
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
      const p: Poll = { since, n: old?.n ?? 0 }
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
