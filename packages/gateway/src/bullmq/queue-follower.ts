/**
 * Follows one BullMQ queue's event stream and publishes what it means for jobcast. Owns one
 * blocking connection (XREAD BLOCK) and, while it holds the queue's lease, moves the queue's
 * cursor forward after each batch it published. See docs/bullmq.md, "Resuming".
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { isValidationError } from '../errors.js'
import type { Publisher } from '../publisher.js'
import { bridgedJobId, type BullmqJobIdFunction } from './job-id.js'
import { bridgeCursorKey, bridgeLeaseKey, bullmqEventsKey, bullmqJobKey } from './keys.js'
import { holdLease, releaseLease, saveCursor } from './lease-scripts.js'
import { mapBullmqEntry, parseAttempts, wantsAttempts, type BullmqStreamEntry } from './map-event.js'
import { compareStreamIds } from './stream-id.js'

/** Settings of a {@link QueueFollower}; the bridge documents them on `BullmqBridgeOptions`. */
export interface QueueFollowerSettings {
  readonly queue: string
  readonly bullPrefix: string
  readonly prefix: string
  readonly toJobId: BullmqJobIdFunction
  readonly leaseMs: number
  readonly blockMs: number
  readonly batchSize: number
  readonly retryDelayMs: number
  readonly startAt: 'oldest' | 'newest'
  readonly owner: string
  readonly log: (message: string) => void
}

/** The raw reply of XREAD for one stream: `[[key, [[id, [field, value, …]], …]]]`. */
type XreadReply = [string, [string, string[]][]][] | null

/** Most invalid job ids remembered, so each is logged once rather than on every event. */
const MAX_REPORTED_IDS = 1000

/** One queue's follower; `stop()` ends it and gives the lease up. */
export class QueueFollower {
  readonly #command: Redis
  readonly #blocking: Redis
  readonly #publisher: Publisher
  readonly #settings: QueueFollowerSettings
  readonly #eventsKey: string
  readonly #cursorKey: string
  readonly #leaseKey: string
  readonly #stopping = new AbortController()
  readonly #reportedIds = new Set<string>()
  readonly #running: Promise<void>
  #held = false
  #renewTimer: ReturnType<typeof setInterval> | undefined
  #renewing = false
  /** The last stream id handled, also kept here for a Redis that restarted empty. */
  #cursor: string | undefined
  #checkTrim = true
  #failing = false

  constructor(command: Redis, blocking: Redis, publisher: Publisher, settings: QueueFollowerSettings) {
    this.#command = command
    this.#blocking = blocking
    this.#publisher = publisher
    this.#settings = settings
    this.#eventsKey = bullmqEventsKey(settings.bullPrefix, settings.queue)
    this.#cursorKey = bridgeCursorKey(settings.prefix, settings.bullPrefix, settings.queue)
    this.#leaseKey = bridgeLeaseKey(settings.prefix, settings.bullPrefix, settings.queue)
    this.#running = this.#run()
  }

  /** Whether this follower holds the queue's lease (and so follows it) right now. */
  get following(): boolean {
    return this.#held
  }

  /**
   * Stops reading (closing the blocking connection interrupts a blocked read), waits for the
   * batch being published, then releases the lease.
   */
  async stop(): Promise<void> {
    this.#stopping.abort()
    this.#blocking.disconnect()
    await this.#running
    clearInterval(this.#renewTimer)
    if (this.#held) await releaseLease(this.#command, this.#leaseKey, this.#settings.owner).catch(() => undefined)
    this.#held = false
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted
  }

  async #run(): Promise<void> {
    const { batchSize, blockMs, retryDelayMs, leaseMs } = this.#settings
    while (!this.#stopped) {
      try {
        if (!this.#held) {
          if (!(await this.#takeLease())) {
            await this.#pause(leaseMs / 3)
            continue
          }
        }
        if (this.#checkTrim) await this.#reportTrim()
        const reply = (await this.#blocking.xread('COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', this.#eventsKey, this.#cursor!)) as XreadReply
        const entries = reply?.[0]?.[1] ?? []
        if (entries.length > 0 && this.#held) await this.#handle(entries.map(([id, pairs]) => ({ id, fields: fieldsOf(pairs) })))
        if (this.#failing) this.#settings.log(`[jobcast] bridge of BullMQ queue ${this.#settings.queue}: following its events again`)
        this.#failing = false
      } catch (error) {
        if (this.#stopped) break
        if (!this.#failing) {
          this.#settings.log(
            `[jobcast] bridge of BullMQ queue ${this.#settings.queue}: ${error instanceof Error ? error.message : String(error)}; retrying every ${retryDelayMs} ms from the last saved event (check that Redis runs)`,
          )
        }
        this.#failing = true
        this.#checkTrim = true
        await this.#pause(retryDelayMs)
      }
    }
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stopping.signal }).catch(() => undefined)
  }

  /** Takes the lease if free; on success loads the cursor and starts renewing. */
  async #takeLease(): Promise<boolean> {
    const { leaseMs, owner } = this.#settings
    if (!(await holdLease(this.#command, this.#leaseKey, owner, leaseMs))) return false
    const saved = await this.#command.get(this.#cursorKey)
    this.#cursor = saved ?? this.#cursor ?? (await this.#startId())
    this.#checkTrim = true
    this.#held = true
    clearInterval(this.#renewTimer)
    this.#renewTimer = setInterval(() => void this.#renew(), leaseMs / 3)
    this.#renewTimer.unref()
    return true
  }

  /** Renews the lease; losing it (another bridge took it after a pause) stops following. */
  async #renew(): Promise<void> {
    if (this.#renewing || !this.#held) return
    this.#renewing = true
    try {
      if (!(await holdLease(this.#command, this.#leaseKey, this.#settings.owner, this.#settings.leaseMs))) this.#lose()
    } catch {
      // An outage: the next renewal (or the lease's expiry, for another bridge) settles it.
    } finally {
      this.#renewing = false
    }
  }

  #lose(): void {
    if (!this.#held) return
    this.#held = false
    clearInterval(this.#renewTimer)
    this.#settings.log(`[jobcast] bridge of BullMQ queue ${this.#settings.queue}: another bridge holds its lease now; standing by`)
  }

  /** Where a queue never followed before starts: its oldest kept entry, or its newest one. */
  async #startId(): Promise<string> {
    if (this.#settings.startAt === 'oldest') return '0-0'
    const last = (await this.#command.xrevrange(this.#eventsKey, '+', '-', 'COUNT', 1)) as [string, string[]][]
    return last[0]?.[0] ?? '0-0'
  }

  /**
   * Logs when entries the bridge had not read are gone (BullMQ trims its stream to about
   * 10 000 entries; a Redis restart loses it): those events are lost, and the bridge goes on
   * from the oldest entry left. Trimming removes the oldest entries first, so while the last
   * entry handled is still there nothing after it was trimmed.
   */
  async #reportTrim(): Promise<void> {
    this.#checkTrim = false
    const cursor = this.#cursor
    if (!cursor || cursor === '0-0') return
    if ((await this.#command.xrange(this.#eventsKey, cursor, cursor)).length > 0) return
    const oldest = (await this.#command.xrange(this.#eventsKey, '-', '+', 'COUNT', 1))[0]?.[0]
    if (oldest !== undefined && compareStreamIds(oldest, cursor) > 0) {
      this.#settings.log(
        `[jobcast] bridge of BullMQ queue ${this.#settings.queue}: its event stream no longer holds the last event published (${cursor}): BullMQ trimmed it (it keeps about 10 000 events) or Redis lost it. Events in between are lost; going on from the oldest one left (${oldest}). Keep the bridge running, or raise the queue's streams.events.maxLen`,
      )
    }
  }

  /**
   * Publishes a batch in waves: a wave holds at most one event per job and runs concurrently,
   * then the cursor moves to its last entry. So after a crash at most the last event of each
   * job is sent again, and the publish script answers that identical event without publishing
   * it twice.
   */
  async #handle(entries: BullmqStreamEntry[]): Promise<void> {
    let wave: Promise<void>[] = []
    const jobs = new Set<string>()
    let waveEnd: string | undefined
    const flush = async (): Promise<boolean> => {
      const results = await Promise.allSettled(wave)
      const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
      if (failure) throw failure.reason
      wave = []
      jobs.clear()
      if (waveEnd === undefined) return true
      if (!(await saveCursor(this.#command, this.#leaseKey, this.#cursorKey, this.#settings.owner, waveEnd))) {
        this.#lose()
        return false
      }
      this.#cursor = waveEnd
      return true
    }
    try {
      for (const entry of entries) {
        const mapped = mapBullmqEntry(entry, wantsAttempts(entry) ? await this.#attempts(entry.fields.jobId) : undefined)
        const target = mapped ? bridgedJobId(this.#settings.toJobId, this.#settings.queue, mapped.bullmqId) : undefined
        if (target && 'problem' in target) this.#reportId(mapped!.bullmqId, target.problem)
        else if (target && mapped) {
          if (jobs.has(target.id) && !(await flush())) return
          if (!this.#held) return
          jobs.add(target.id)
          wave.push(this.#publish({ ...mapped.event, id: target.id }))
        }
        waveEnd = entry.id
      }
      await flush()
    } finally {
      // Whatever stopped the batch, no publish is left unobserved.
      await Promise.allSettled(wave)
    }
  }

  async #publish(event: Parameters<Publisher['publish']>[0]): Promise<void> {
    try {
      await this.#publisher.publish(event)
    } catch (error) {
      // An event jobcast refuses (too large a result, say) can never be published: log and go on.
      if (!isValidationError(error)) throw error
      this.#settings.log(`[jobcast] bridge of BullMQ queue ${this.#settings.queue}: skipped the ${event.status} event of job ${event.id}: ${error.message}`)
    }
  }

  async #attempts(bullmqId: string | undefined): Promise<ReturnType<typeof parseAttempts>> {
    if (!bullmqId) return undefined
    const [made, opts] = await this.#command.hmget(bullmqJobKey(this.#settings.bullPrefix, this.#settings.queue, bullmqId), 'atm', 'opts')
    return parseAttempts(made ?? null, opts ?? null)
  }

  #reportId(bullmqId: string, problem: string): void {
    if (this.#reportedIds.has(bullmqId)) return
    if (this.#reportedIds.size >= MAX_REPORTED_IDS) this.#reportedIds.clear()
    this.#reportedIds.add(bullmqId)
    this.#settings.log(`[jobcast] ${problem}`)
  }
}

function fieldsOf(pairs: string[]): Record<string, string> {
  const fields: Record<string, string> = {}
  for (let index = 0; index + 1 < pairs.length; index += 2) fields[pairs[index]!] = pairs[index + 1]!
  return fields
}
