/**
 * A log line at most every `intervalMs`: while Redis is down, ioredis reports an error per
 * reconnect attempt (on a cluster, per node and attempt, with no pause), which would flood a log.
 */

/** Writes one line of the gateway's log. */
export type LogLine = (line: string) => void

/**
 * Returns a function that passes its line to `write` at once, then drops lines until
 * `intervalMs` have passed; the next line written says how many were dropped.
 * @param intervalMs - shortest time between two lines, in ms
 * @param now - the clock, in ms (injected for tests)
 */
export function rateLimitedLog(write: LogLine, intervalMs: number, now: () => number = Date.now): LogLine {
  let last = Number.NEGATIVE_INFINITY
  let dropped = 0
  return (line) => {
    const time = now()
    if (time - last < intervalMs) {
      dropped++
      return
    }
    last = time
    write(dropped > 0 ? `${line} (${dropped} similar lines dropped)` : line)
    dropped = 0
  }
}
