/**
 * The embedded in-memory bus: the same semantics as Redis (seq rule, terminal refusal, TTL,
 * snapshots, per-job pub/sub) inside one process. Used by embedded mode and in tests.
 */
import { JobcastError } from '../errors.js'
import { assertJobId, eventInputJson, normalizeEventInput, withSeq } from '../event.js'
import { isTerminal, type JobEvent, type JobEventInput } from '../protocol.js'
import type { Bus, BusEvent, BusListener, BusState, PublishOutcome } from './bus.js'
import { mayRestore } from './restore.js'

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** Snapshot time to live, in seconds. @default 86400 */
  ttlSeconds?: number
  /** Largest accepted event JSON, in bytes. @default 65536 */
  maxMessageBytes?: number
}

interface Stored {
  readonly message: BusEvent
  readonly expiresAt: number
}

/** In-memory {@link Bus}. Always `up` until closed. Deliveries are asynchronous, as with Redis. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const
  #state: BusState = 'up'
  readonly #ttlMs: number
  readonly #maxBytes: number | undefined
  readonly #snapshots = new Map<string, Stored>()
  readonly #listeners = new Map<string, Set<BusListener>>()
  readonly #stateListeners = new Set<(state: BusState, previous: BusState) => void>()
  readonly #sweep: ReturnType<typeof setInterval>
  #closed: Promise<void> | undefined

  constructor(options: MemoryBusOptions = {}) {
    const ttl = options.ttlSeconds ?? 86_400
    if (!(ttl > 0)) throw new JobcastError('invalid_config', '[jobcast] ttlSeconds must be a positive number of seconds')
    this.#ttlMs = ttl * 1000
    this.#maxBytes = options.maxMessageBytes
    // Expired entries are also dropped on read; the sweep only bounds memory of forgotten jobs.
    this.#sweep = setInterval(() => this.#sweepExpired(), Math.min(Math.max(this.#ttlMs, 1000), 60_000))
    this.#sweep.unref()
  }

  get state(): BusState {
    return this.#state
  }

  /** Number of jobs with a live snapshot (for tests and metrics). */
  get size(): number {
    this.#sweepExpired()
    return this.#snapshots.size
  }

  async publish(input: JobEventInput): Promise<PublishOutcome> {
    this.#assertOpen()
    const normalized = normalizeEventInput(input)
    const body = eventInputJson(normalized, this.#maxBytes)
    const current = this.#read(normalized.id)
    if (current && isTerminal(current.event)) return { published: false, reason: 'terminal', current: current.event }
    const seq = Math.max((current?.event.seq ?? 0) + 1, Date.now() * 1000)
    const event: JobEvent = { seq, ...normalized }
    this.#store({ event, json: withSeq(seq, body) })
    return { published: true, event }
  }

  async restore(message: BusEvent): Promise<boolean> {
    this.#assertOpen()
    assertJobId(message.event.id)
    if (!mayRestore(this.#read(message.event.id)?.event ?? null, message.event)) return false
    this.#store(message)
    return true
  }

  async get(id: string): Promise<BusEvent | null> {
    this.#assertOpen()
    return this.#read(id)
  }

  async subscribe(id: string, listener: BusListener): Promise<() => void> {
    this.#assertOpen()
    let set = this.#listeners.get(id)
    if (!set) this.#listeners.set(id, (set = new Set()))
    // A fresh wrapper per call, so one function subscribed twice is counted twice.
    const entry: BusListener = (message) => listener(message)
    set.add(entry)
    return () => {
      const current = this.#listeners.get(id)
      if (!current?.delete(entry)) return
      if (current.size === 0) this.#listeners.delete(id)
    }
  }

  onStateChange(listener: (state: BusState, previous: BusState) => void): () => void {
    this.#stateListeners.add(listener)
    return () => void this.#stateListeners.delete(listener)
  }

  close(): Promise<void> {
    this.#closed ??= Promise.resolve().then(() => {
      clearInterval(this.#sweep)
      this.#listeners.clear()
      this.#snapshots.clear()
      const previous = this.#state
      this.#state = 'closed'
      for (const listener of [...this.#stateListeners]) listener('closed', previous)
      this.#stateListeners.clear()
    })
    return this.#closed
  }

  /** Stores the snapshot and publishes it, like the scripts' SET + PUBLISH. */
  #store(message: BusEvent): void {
    const id = message.event.id
    this.#snapshots.set(id, { message, expiresAt: Date.now() + this.#ttlMs })
    const listeners = this.#listeners.get(id)
    if (!listeners) return
    // Like PUBLISH: whoever is subscribed now receives it, later, and in publish order.
    const targets = [...listeners]
    queueMicrotask(() => {
      for (const listener of targets) if (listeners.has(listener)) listener(message)
    })
  }

  #read(id: string): BusEvent | null {
    const stored = this.#snapshots.get(id)
    if (!stored) return null
    if (stored.expiresAt <= Date.now()) {
      this.#snapshots.delete(id)
      return null
    }
    return stored.message
  }

  #sweepExpired(): void {
    const now = Date.now()
    for (const [id, stored] of this.#snapshots) if (stored.expiresAt <= now) this.#snapshots.delete(id)
  }

  #assertOpen(): void {
    if (this.#closed) throw new JobcastError('bus_unavailable', '[jobcast] the bus is closed: create a new one')
  }
}

/** Creates an in-memory {@link Bus} (embedded mode). */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  return new MemoryBus(options)
}
