/**
 * A bounded least-recently-used cache of verified tokens, so a socket that subscribes
 * to many jobs with one token (or the same page polling every second) does not pay a
 * signature check each time. Entries expire with their token. Pure: the clock is passed in.
 */

/** What the cache keeps of a verified token. */
export interface CachedGrant<T> {
  readonly value: T
  /** Ms since epoch after which the entry is gone. */
  readonly expiresAt: number
}

/** A bounded LRU map from token string to its verified grant. */
export class TokenCache<T> {
  readonly #max: number
  readonly #entries = new Map<string, CachedGrant<T>>()

  /** @param max Most entries kept; the least recently used one is dropped first. `0` disables caching. */
  constructor(max: number) {
    this.#max = Math.max(0, Math.floor(max))
  }

  /** Number of live-or-stale entries held. */
  get size(): number {
    return this.#entries.size
  }

  /** The grant for `token` if cached and not expired at `now`; refreshes its recency. */
  get(token: string, now: number): T | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    this.#entries.delete(token)
    if (now >= entry.expiresAt) return undefined
    this.#entries.set(token, entry) // move to the most recent end
    return entry.value
  }

  /** Remembers `value` for `token` until `expiresAt`. */
  set(token: string, value: T, expiresAt: number): void {
    if (this.#max === 0) return
    this.#entries.delete(token)
    this.#entries.set(token, { value, expiresAt })
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#entries.delete(oldest.value)
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear()
  }
}
