/**
 * A token-bucket rate limiter keyed by client IP, for the polling route: each key may
 * make `burst` requests at once and then `ratePerSec` per second. Pure: the clock is
 * injected, buckets are refilled lazily on use, the map of buckets is bounded.
 */

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained requests per second per key. `0` or `Infinity` disables limiting. */
  ratePerSec: number
  /**
   * Requests allowed at once (bucket size).
   * @default ratePerSec * 2, at least 1
   */
  burst?: number
  /**
   * Most keys remembered; the least recently seen is forgotten first (it then starts
   * again with a full bucket, which only ever errs on the generous side).
   * @default 100000
   */
  maxKeys?: number
  /** The clock in ms. @default Date.now */
  now?: () => number
}

/** Result of {@link RateLimiter.take}. */
export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSec: number }

/** A per-key token bucket. */
export interface RateLimiter {
  /**
   * Spends `cost` tokens of `key` (all or none); when too few are left says how many whole
   * seconds to wait (≥ 1). A cost above the burst is charged as the whole burst.
   * @param cost @default 1
   */
  take(key: string, cost?: number): RateDecision
  /** Keys currently remembered. */
  readonly size: number
}

interface Bucket {
  tokens: number
  at: number
}

const OK: RateDecision = Object.freeze({ ok: true as const })

/** Creates a {@link RateLimiter}. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const rate = options.ratePerSec
  const unlimited = !(rate > 0) || !Number.isFinite(rate)
  const burst = Math.max(1, options.burst ?? Math.ceil(rate * 2))
  const maxKeys = Math.max(1, options.maxKeys ?? 100_000)
  const now = options.now ?? Date.now
  const buckets = new Map<string, Bucket>()
  return {
    take(key, cost = 1) {
      if (unlimited) return OK
      const t = now()
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        bucket = { tokens: burst, at: t }
        if (buckets.size >= maxKeys) {
          const oldest = buckets.keys().next()
          if (oldest.done !== true) buckets.delete(oldest.value)
        }
      } else {
        buckets.delete(key) // re-inserted below: Map order is recency order
        bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * rate)
        bucket.at = t
      }
      buckets.set(key, bucket)
      const need = Math.min(burst, Math.max(1, cost))
      if (bucket.tokens >= need) {
        bucket.tokens -= need
        return OK
      }
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((need - bucket.tokens) / rate)) }
    },
    get size() {
      return buckets.size
    },
  }
}
