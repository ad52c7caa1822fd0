/**
 * Counts open connections per client IP so one address cannot hold every socket of the
 * gateway. Acquire before accepting (WebSocket upgrade, SSE stream), release exactly once
 * when the connection ends. Pure bookkeeping: no timers, no sockets.
 */

/** Options of {@link createConnectionCounter}. */
export interface ConnectionCounterOptions {
  /** Most simultaneous connections from one IP. `0` or `Infinity` means unlimited. */
  maxPerIp: number
  /**
   * Most distinct IPs tracked at once; beyond it new IPs are refused rather than letting
   * the map grow without bound (a spoofed-source flood cannot reach here over TCP, but a
   * large botnet can).
   * @default 100000
   */
  maxIps?: number
  /**
   * Most connections counted at once, all IPs together. `0` or `Infinity` means unlimited.
   * @default Infinity
   */
  maxTotal?: number
}

/** Per-IP connection bookkeeping. */
export interface ConnectionCounter {
  /** Takes a slot for `ip`; false (and nothing taken) when `ip` or the total is at its limit. */
  tryAcquire(ip: string): boolean
  /** Gives back one slot of `ip`. Extra releases are ignored. */
  release(ip: string): void
  /** Connections `ip` holds now. */
  count(ip: string): number
  /** Distinct IPs holding at least one connection. */
  readonly size: number
  /** Connections held, all IPs together. */
  readonly total: number
}

/** Creates a {@link ConnectionCounter}. */
export function createConnectionCounter(options: ConnectionCounterOptions): ConnectionCounter {
  const max = options.maxPerIp > 0 ? options.maxPerIp : Number.POSITIVE_INFINITY
  const maxIps = options.maxIps ?? 100_000
  const maxTotal = options.maxTotal !== undefined && options.maxTotal > 0 ? options.maxTotal : Number.POSITIVE_INFINITY
  const counts = new Map<string, number>()
  let total = 0
  return {
    tryAcquire(ip) {
      const current = counts.get(ip) ?? 0
      if (current >= max || total >= maxTotal) return false
      if (current === 0 && counts.size >= maxIps) return false
      counts.set(ip, current + 1)
      total++
      return true
    },
    release(ip) {
      const current = counts.get(ip)
      if (current === undefined) return
      total--
      // Deleting at zero keeps the map as small as the set of connected IPs.
      if (current <= 1) counts.delete(ip)
      else counts.set(ip, current - 1)
    },
    count: (ip) => counts.get(ip) ?? 0,
    get size() {
      return counts.size
    },
    get total() {
      return total
    },
  }
}
