import type { JobEvent, JobEventInput } from '../protocol.js'

/**
 * An event as it travels through the gateway: parsed once and kept with its JSON text,
 * so each transport serializes its frame once per event, not once per subscriber.
 */
export interface BusEvent {
  readonly event: JobEvent
  /** `JSON.stringify(event)`, exactly as stored and published. */
  readonly json: string
}

/** What `publish` did. A job accepts no event after a terminal one. */
export type PublishOutcome =
  | { readonly published: true; readonly event: JobEvent }
  | { readonly published: false; readonly reason: 'terminal'; readonly current: JobEvent }

/** Receives every event published on one job's channel after the subscription became active. */
export type BusListener = (message: BusEvent) => void

/** Connection state of a bus. A change from `down` to `up` means events may have been missed: re-read snapshots. */
export type BusState = 'up' | 'down' | 'closed'

/**
 * The event bus: snapshots with a TTL, per-job seq, the terminal rule, and per-job
 * pub/sub. Two implementations share these semantics: `RedisBus` and `MemoryBus`.
 */
export interface Bus {
  /** Which implementation this is. */
  readonly kind: 'redis' | 'memory'
  /** Current connection state. */
  readonly state: BusState
  /** Publish atomically: assign seq, refuse after terminal, write snapshot with TTL, publish. */
  publish(input: JobEventInput): Promise<PublishOutcome>
  /**
   * Puts back a job's last known event after the bus lost it (Redis restarted without
   * persistence, a failover to a replica that missed the last writes): stores and publishes
   * `message` unchanged, seq included, only when the job has no snapshot or an older,
   * non-terminal one, so a restore can neither reorder nor re-open a job.
   * Resolves `true` when restored, `false` when the snapshot was kept.
   * @throws JobcastError `bus_unavailable` during an outage
   */
  restore(message: BusEvent): Promise<boolean>
  /** The latest event (snapshot) of a job, or `null` when unknown or expired. */
  get(id: string): Promise<BusEvent | null>
  /**
   * Start receiving a job's events. Resolves once the subscription is active, so a snapshot
   * read after it cannot miss an event. Reference counted per id; the returned function
   * removes this listener (safe to call twice).
   */
  subscribe(id: string, listener: BusListener): Promise<() => void>
  /** Be told of state changes. Returns a function that removes the listener. */
  onStateChange(listener: (state: BusState, previous: BusState) => void): () => void
  /** Release connections and timers. Safe to call twice; returns the same promise. */
  close(): Promise<void>
}
