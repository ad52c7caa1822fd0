/**
 * The last known event of recently seen jobs, bounded by age and by count, so it can be put
 * back with `Bus.restore` after Redis restarted empty (docs/protocol.md, "Restoring a
 * lost snapshot"). Kept by the publisher (jobs it published) and by the hub (jobs it watched
 * or served to pollers). Pure bookkeeping: no timers, the clock is passed in.
 */
import type { BusEvent } from './bus.js'

/** Options of {@link RecentEvents}. */
export interface RecentEventsOptions {
  /** How long a job's last event is kept after it was last remembered, in ms. */
  windowMs: number
  /** Most jobs kept; the least recently remembered is forgotten first. */
  maxJobs: number
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number
}

interface Remembered {
  readonly message: BusEvent
  readonly at: number
}

/** Last events by job id, oldest first (a Map keeps insertion order; remembering moves a job last). */
export class RecentEvents {
  readonly #jobs = new Map<string, Remembered>()
  readonly #windowMs: number
  readonly #maxJobs: number
  readonly #now: () => number

  constructor(options: RecentEventsOptions) {
    this.#windowMs = options.windowMs
    this.#maxJobs = options.maxJobs
    this.#now = options.now ?? Date.now
  }

  /** Number of jobs remembered (expired ones included until the next prune). */
  get size(): number {
    return this.#jobs.size
  }

  /** Remembers `message` as its job's last event, unless an event with a higher seq is already kept. */
  remember(message: BusEvent): void {
    if (this.#maxJobs < 1 || this.#windowMs <= 0) return
    const id = message.event.id
    const kept = this.#jobs.get(id)
    if (kept && kept.message.event.seq > message.event.seq) return
    this.#jobs.delete(id)
    this.#jobs.set(id, { message, at: this.#now() })
    if (this.#jobs.size > this.#maxJobs) this.#jobs.delete(this.#jobs.keys().next().value as string)
  }

  /** The job's last event, or `undefined` when unknown or older than the window. */
  get(id: string): BusEvent | undefined {
    const kept = this.#jobs.get(id)
    return kept && kept.at > this.#now() - this.#windowMs ? kept.message : undefined
  }

  /** Every event still inside the window, oldest first; forgets the expired ones. */
  live(): BusEvent[] {
    const oldest = this.#now() - this.#windowMs
    for (const [id, kept] of this.#jobs) {
      if (kept.at > oldest) break
      this.#jobs.delete(id)
    }
    return [...this.#jobs.values()].map((kept) => kept.message)
  }
}
