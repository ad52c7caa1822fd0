/**
 * One timer for the heartbeats of every SSE stream of a gateway, instead of a `setInterval`
 * (a `Timeout` object and a closure) per idle stream. A stream's first ping therefore comes
 * within one interval of its start, never later. The timer runs only while streams are live.
 */

/** Something that sends a heartbeat. */
export interface Pingable {
  ping(): void
}

/** A shared heartbeat timer. */
export class Heartbeat {
  readonly #intervalMs: number
  readonly #items = new Set<Pingable>()
  #timer: ReturnType<typeof setInterval> | undefined

  /** @param intervalMs - time between pings, ms */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  /** Number of streams pinged. */
  get size(): number {
    return this.#items.size
  }

  /** Ping `item` on every tick until {@link delete}. */
  add(item: Pingable): void {
    this.#items.add(item)
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs)
      this.#timer.unref?.()
    }
  }

  /** Stop pinging `item`; the timer stops with the last one. */
  delete(item: Pingable): void {
    if (!this.#items.delete(item) || this.#items.size > 0 || this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #tick(): void {
    // A ping may end a stream (slow consumer), which deletes it: Set iteration allows that.
    for (const item of this.#items) item.ping()
  }
}
