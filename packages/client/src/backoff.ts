/** Pure retry timing: no timers here, so schedules are testable with literal numbers. */

/** An exponential schedule. All durations in milliseconds. */
export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  initial: number
  /** Largest delay, in ms. */
  max: number
  /** Growth per attempt. */
  factor: number
}

/** The cap of attempt `n` (0-based): `min(max, initial * factor^n)`. */
export const backoffCap = (n: number, o: BackoffOptions): number => Math.min(o.max, o.initial * o.factor ** n)

/**
 * The delay before attempt `n` with full jitter: uniform in `[0, cap(n))`, so a thousand tabs
 * that lost the same gateway do not come back in one wave.
 * @param random - `() => [0, 1)`, injectable for tests.
 */
export const backoffDelay = (n: number, o: BackoffOptions, random: () => number = Math.random): number =>
  Math.floor(random() * backoffCap(n, o))

/**
 * A `Retry-After` header in ms. Only the delta-seconds form (what the gateway sends): an HTTP
 * date counts as absent, which leaves the backoff delay in charge.
 */
export const parseRetryAfter = (value: string | null | undefined): number => +value! * 1000 || 0

/**
 * The delay before the next poll. When the gateway set the pace (`Retry-After` above 0), that
 * long plus at most a tenth as jitter, so tabs drift apart without learning the end much later;
 * else the backoff of the `unpaced`-th answer in a row without a pace.
 * @param retryAfter - The gateway's `Retry-After` in ms, 0 when absent.
 * @param random - `() => [0, 1)`, injectable for tests.
 */
export const pollDelay = (retryAfter: number, unpaced: number, o: BackoffOptions, random: () => number = Math.random): number =>
  retryAfter ? retryAfter * (1 + random() / 10) : backoffDelay(unpaced, o, random)
