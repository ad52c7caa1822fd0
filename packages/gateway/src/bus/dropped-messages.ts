/**
 * Counts and logs the bus messages the gateway drops (malformed, oversized, about another job),
 * by reason, so a producer that breaks the contract shows up in the logs instead of as a job
 * that was "never published". Logging is rate-limited per reason; counting is not.
 */

/** Why a bus message was dropped: `too_large`, `not_json`, `not_object`, `wrong_job`, or `bad_<field>` (e.g. `bad_progress`). */
export type DropReason = string

/** Options of {@link DroppedMessages}. */
export interface DroppedMessagesOptions {
  /** At most one log line per reason per window, in ms; the next line carries the count. @default 10000 */
  windowMs?: number
  /** Where lines go. @default console.warn */
  log?: (line: string) => void
}

interface Window {
  /** Drops since the last line. */
  suppressed: number
  lastJobId: string | undefined
  lastDetail: string
  timer: ReturnType<typeof setTimeout>
}

/** Counters and a rate-limited log of dropped bus messages. */
export class DroppedMessages {
  /** Every drop counted, by reason. */
  readonly byReason = new Map<DropReason, number>()
  /** All drops together. */
  total = 0
  readonly #windowMs: number
  readonly #log: (line: string) => void
  readonly #windows = new Map<DropReason, Window>()

  constructor(options: DroppedMessagesOptions = {}) {
    this.#windowMs = options.windowMs ?? 10_000
    this.#log = options.log ?? ((line) => console.warn(line))
  }

  /**
   * Records one dropped message.
   * @param reason - stable reason, the key of {@link byReason}
   * @param detail - what is wrong, e.g. `progress must be a number 0–100`
   * @param jobId - the job whose channel or key carried it, when known
   */
  record(reason: DropReason, detail: string, jobId?: string): void {
    this.total++
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
    const open = this.#windows.get(reason)
    if (open) {
      open.suppressed++
      open.lastJobId = jobId
      open.lastDetail = detail
      return
    }
    this.#log(`[jobcast] dropped a bus message${jobId === undefined ? '' : ` of job ${jobId}`} (${reason}): ${detail}; fix its producer (docs/protocol.md, "Event")`)
    this.#openWindow(reason)
  }

  /** Stops the window timers (pending counts are not logged). Safe to call twice. */
  close(): void {
    for (const window of this.#windows.values()) clearTimeout(window.timer)
    this.#windows.clear()
  }

  #openWindow(reason: DropReason): void {
    const timer = setTimeout(() => {
      const window = this.#windows.get(reason)
      this.#windows.delete(reason)
      if (!window || window.suppressed === 0) return
      const seconds = Math.round(this.#windowMs / 1000)
      this.#log(
        `[jobcast] dropped ${window.suppressed} more bus message${window.suppressed === 1 ? '' : 's'} (${reason}) in the last ${seconds} s, the last${window.lastJobId === undefined ? '' : ` of job ${window.lastJobId}`}: ${window.lastDetail}`,
      )
      this.#openWindow(reason)
    }, this.#windowMs)
    timer.unref?.()
    this.#windows.set(reason, { suppressed: 0, lastJobId: undefined, lastDetail: '', timer })
  }
}

/** The process' drop log, which {@link parseBusMessage} reports to unless given another. */
export const droppedBusMessages: DroppedMessages = new DroppedMessages()
