/**
 * The core both push transports share: one job watched for one connection (a WebSocket
 * subscription, one job of an SSE stream). It starts the hub watch, ends the job at its
 * terminal event (delivered, or already covered by the cursor), ends it when its token grant
 * expires, and frees its watch and timer once. The hub is the seq gate: every event it hands
 * over is new and in order. What each transport writes is up to its {@link JobWatchOwner}.
 */
import type { BusEvent } from '../bus/bus.js'
import type { JobHub, Watch, WatchHandler } from '../hub.js'
import { isTerminal } from '../protocol.js'
import { at } from '../timers.js'

/** The connection a {@link JobWatch} reports to. */
export interface JobWatchOwner {
  /** A new event of the job, in seq order. */
  onJobEvent(job: JobWatch, message: BusEvent): void
  /** Nothing more will come: its terminal event was just delivered, or the cursor already covered it. */
  onJobEnded(job: JobWatch): void
  /** The token grant for the job ran out. */
  onGrantExpired(job: JobWatch): void
}

/** One watched job of a connection; also the handler its hub watch calls (no closure per job). */
export class JobWatch implements WatchHandler {
  readonly owner: JobWatchOwner
  readonly id: string
  /** Set once the job is closed (by the owner, or after its end): nothing more is reported. */
  closed = false
  #watch: Watch | undefined = undefined
  #cancelExpiry: (() => void) | undefined = undefined

  constructor(owner: JobWatchOwner, id: string) {
    this.owner = owner
    this.id = id
  }

  /** Report `onGrantExpired` at `expiresAt` (ms since epoch) unless closed before. */
  expireAt(expiresAt: number): void {
    this.#cancelExpiry = at(expiresAt, () => {
      if (!this.closed) this.owner.onGrantExpired(this)
    })
  }

  /**
   * Start the hub watch from `since`; `onReady` runs with the snapshot before any event
   * (send the `subscribed` frame there).
   * @throws whatever `hub.watch` throws (`bus_unavailable`)
   */
  async start(hub: Pick<JobHub, 'watch'>, since: number, onReady: (snapshot: BusEvent | null) => void): Promise<void> {
    const watch = await hub.watch(this.id, { since, onReady }, this)
    if (this.closed) return watch.close()
    this.#watch = watch
    if (watch.ended) this.owner.onJobEnded(this)
  }

  onJobEvent(message: BusEvent): void {
    if (this.closed) return
    this.owner.onJobEvent(this, message)
    // The hub closes the watch after a terminal event; the owner learns the job is over.
    if (isTerminal(message.event) && !this.closed) this.owner.onJobEnded(this)
  }

  /** Stop the watch and the expiry timer (idempotent). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.#cancelExpiry?.()
    this.#watch?.close()
  }
}
