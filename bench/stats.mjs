/**
 * Small pure helpers shared by the bench processes: a clock every process agrees on and
 * percentiles over latency samples.
 */
import { performance } from 'node:perf_hooks'

/**
 * Milliseconds since the epoch with sub-millisecond resolution. `performance.timeOrigin`
 * is the wall-clock start of this process, so values from different processes on one
 * machine are comparable (a publish timestamp taken in one, a receive time in another).
 */
export function now() {
  return performance.timeOrigin + performance.now()
}

/** Percentile `p` (0–100) of a sorted numeric array (nearest-rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

/** p50/p90/p99/max/mean of latency samples (ms), rounded to µs. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort()
  let sum = 0
  for (const v of sorted) sum += v
  const r = (v) => Math.round(v * 1000) / 1000
  return {
    count: sorted.length,
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted.length ? sorted[sorted.length - 1] : NaN),
    mean: r(sorted.length ? sum / sorted.length : NaN),
  }
}

/** Resolve after `ms`. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Run `fn(i)` for i in [0, n) with at most `limit` promises pending. */
export async function pool(n, limit, fn) {
  let next = 0
  const runners = []
  for (let w = 0; w < Math.min(limit, n); w++) {
    runners.push((async () => {
      while (next < n) await fn(next++)
    })())
  }
  await Promise.all(runners)
}
