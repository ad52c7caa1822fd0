/**
 * The job hub: the one layer every transport (WebSocket, SSE, polling) uses to watch jobs.
 * It holds one bus subscription per watched job however many watchers there are, and gives
 * each watcher every event newer than its cursor exactly once, in order, ending at the
 * terminal event. See docs/protocol.md, "Transports".
 * One file: the watch, its seq gate and the per-job channel are one state that attach, detach,
 * delivery and the re-read after an outage all change; split, they would share it openly.
 */
import type { Bus, BusEvent, BusState } from './bus/bus.js'
import { RecentEvents } from './bus/recent-events.js'
import { mayRestore, restoreAll } from './bus/restore.js'
import { assertJobId, parseBusMessage } from './event.js'
import { isTerminal } from './protocol.js'

/** Receives the events of one watch. */
export type WatchListener = (message: BusEvent) => void

/**
 * Receives the events of one watch as a method call: a connection that keeps one object per
 * job anyway passes that object and needs no closure per watch.
 */
export interface WatchHandler {
  /** Called like a {@link WatchListener}. */
  onJobEvent(message: BusEvent): void
}

/** Options of {@link JobHub.watch}. */
export interface WatchOptions {
  /** Deliver only events with a seq greater than this (a resume cursor). @default 0 */
  since?: number
  /**
   * Called once, synchronously, with the snapshot read after the subscription became active
   * (`null`: the job is unknown or expired), before any event reaches the listener. Send a
   * "subscribed" frame here: nothing can be delivered in between.
   */
  onReady?: (snapshot: BusEvent | null) => void
}

/** A live watch on one job. */
export interface Watch {
  /** Job id. */
  readonly id: string
  /**
   * True once the watch is over for good: its terminal event has been delivered, or its
   * `since` already covered the terminal snapshot, so nothing will ever be delivered.
   */
  readonly ended: boolean
  /** Seq of the last event delivered (or `since`). */
  readonly lastSeq: number
  /** Stops delivery and releases the subscription when it was the last watcher. Safe to call twice. */
  close(): void
}

/** Options of {@link JobHub}. */
export interface JobHubOptions {
  /** Told when a watcher's listener throws; that watcher is then closed. @default logs with console.error */
  onListenerError?: (error: unknown, id: string) => void
  /**
   * How long the last event of a job is kept after its last watcher left or its last poll,
   * in ms, so that it can be restored if Redis restarts empty meanwhile (watched jobs are
   * kept as long as they are watched). `0` keeps none.
   * @default 600000
   */
  restoreWindowMs?: number
  /** Most jobs kept that way; the least recently seen is forgotten first. @default 10000 */
  maxRecentJobs?: number
}

/**
 * One watcher, which is also the {@link Watch} handed out: plain fields and prototype methods,
 * so an idle watch is one small object (no getter closures, no per-watch contexts).
 */
class HubWatch implements Watch {
  readonly id: string
  readonly listener: WatchListener | WatchHandler
  /** The hub's detach, shared by all its watches. */
  readonly #detach: (watch: HubWatch) => void
  /** Seq gate: highest seq accepted so far (or `since`). */
  lastSeq: number
  /** Events that arrived before the snapshot was read; flushed through the gate on start. */
  buffer: BusEvent[] | null = []
  closed = false
  ended = false

  constructor(id: string, since: number, listener: WatchListener | WatchHandler, detach: (watch: HubWatch) => void) {
    this.id = id
    this.lastSeq = since
    this.listener = listener
    this.#detach = detach
  }

  /** Records `seq` and returns true when it is new (the per-watcher ordering gate). */
  accept(seq: number): boolean {
    if (seq <= this.lastSeq) return false
    this.lastSeq = seq
    return true
  }

  close(): void {
    this.#detach(this)
  }
}

interface Channel {
  /** The job's watchers; the channel is released when the last one leaves. */
  readonly watchers: Set<HubWatch>
  /** Until the subscription is active: resolves to the bus unsubscribe function. Then dropped. */
  pending: Promise<() => void> | undefined
  /** The bus unsubscribe function, once the subscription is active. */
  unsubscribe: (() => void) | undefined
  /**
   * JSON text of the last event delivered or read for this job, to restore it if Redis loses
   * it. The text, not the parsed event: an idle watch should hold as little as possible.
   */
  latest: string | undefined
}

/**
 * Fans job events out to watchers. Subscribe first, then read the snapshot, buffering live
 * events meanwhile; a per-watcher seq gate drops duplicates and anything older than the
 * cursor. When the bus comes back `up` after `down`, every watched job's snapshot is re-read
 * and delivered if it advanced (events published during the outage are otherwise lost), or
 * restored from the hub's last event when Redis lost it; so are the jobs recently watched or
 * polled (docs/protocol.md, "Restoring a lost snapshot").
 *
 * @example
 * const hub = new JobHub(bus)
 * const watch = await hub.watch(id, { since, onReady: (s) => send({ type: 'subscribed', id, exists: s !== null }) },
 *   (m) => send(m.json))
 * // later: watch.close()
 */
export class JobHub {
  readonly #bus: Bus
  readonly #channels = new Map<string, Channel>()
  readonly #onListenerError: (error: unknown, id: string) => void
  readonly #offState: () => void
  /** Last events of jobs no longer watched, or polled. */
  readonly #recent: RecentEvents
  readonly #detachWatch = (watch: HubWatch): void => this.#detach(watch)
  #closed = false

  constructor(bus: Bus, options: JobHubOptions = {}) {
    this.#bus = bus
    this.#onListenerError =
      options.onListenerError ?? ((error, id) => console.error(`[jobcast] a watcher of job ${id} threw; it was closed:`, error))
    this.#recent = new RecentEvents({ windowMs: options.restoreWindowMs ?? 600_000, maxJobs: options.maxRecentJobs ?? 10_000 })
    this.#offState = bus.onStateChange((state, previous) => this.#onBusState(state, previous))
  }

  /** The bus this hub reads from. */
  get bus(): Bus {
    return this.#bus
  }

  /** Number of jobs with at least one watcher (one bus subscription each). */
  get watchedJobs(): number {
    return this.#channels.size
  }

  /**
   * The latest event of a job, for polling, or `null` when unknown or expired. A job found is
   * remembered for `restoreWindowMs`, to restore it if Redis loses it.
   * @throws ValidationError `invalid_job_id`; JobcastError `bus_unavailable` during an outage
   */
  get(id: string): Promise<BusEvent | null> {
    assertJobId(id)
    return this.#bus.get(id).then((snapshot) => {
      if (snapshot) this.#recent.remember(snapshot)
      return snapshot
    })
  }

  /**
   * Watches a job. Resolves once the bus subscription is active and the snapshot has been
   * read. Before it resolves, synchronously and in this order: `options.onReady(snapshot)`,
   * then the snapshot to `listener` if its seq > `since`, then events that arrived meanwhile.
   * After that, each newer event is passed to `listener` once, in increasing seq order; after
   * a terminal event the watch ends by itself (`ended`, subscription released).
   *
   * The snapshot is not kept by the watch (an idle connection would otherwise hold a parsed
   * event for its whole life): take what you need from it in `onReady`.
   *
   * @throws ValidationError `invalid_job_id`; JobcastError `bus_unavailable` when the bus cannot serve
   */
  async watch(id: string, options: WatchOptions, listener: WatchListener | WatchHandler): Promise<Watch> {
    assertJobId(id)
    if (this.#closed) throw new Error('[jobcast] the hub is closed: create a new one')
    const watcher = new HubWatch(id, options.since ?? 0, listener, this.#detachWatch)
    const channel = this.#attach(id, watcher)
    let snapshot: BusEvent | null
    try {
      if (channel.pending) await channel.pending
      snapshot = await this.#bus.get(id)
    } catch (error) {
      this.#detach(watcher)
      throw error
    }
    const watch: Watch = watcher
    if (watcher.closed) return watch
    const buffered = watcher.buffer ?? []
    watcher.buffer = null
    if (snapshot && channel.latest === undefined) channel.latest = snapshot.json
    options.onReady?.(snapshot)
    // A terminal snapshot the cursor already covers: nothing can ever follow it.
    if (snapshot && isTerminal(snapshot.event) && snapshot.event.seq <= watcher.lastSeq) {
      watcher.ended = true
      this.#detach(watcher)
      return watch
    }
    if (snapshot) this.#deliver(watcher, snapshot)
    buffered.sort((a, b) => a.event.seq - b.event.seq)
    for (const message of buffered) this.#deliver(watcher, message)
    return watch
  }

  /** Stops every watch and releases all subscriptions. Does not close the bus. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#offState()
    for (const channel of [...this.#channels.values()]) for (const watcher of channel.watchers) this.#detach(watcher)
  }

  #attach(id: string, watcher: HubWatch): Channel {
    const existing = this.#channels.get(id)
    if (existing) {
      existing.watchers.add(watcher)
      return existing
    }
    let channel: Channel | undefined
    const subscription = this.#bus.subscribe(id, (message) => {
      if (!channel) return
      // The bus delivers a channel's events in publish order: the newest is the last one.
      channel.latest = message.json
      // Set iteration tolerates a watcher leaving during its own delivery (a terminal event).
      for (const w of channel.watchers) this.#receive(w, message)
    })
    const created: Channel = { watchers: new Set([watcher]), pending: subscription, unsubscribe: undefined, latest: undefined }
    channel = created
    // An idle channel keeps the function, not the settled promise. A failed subscribe is
    // reported to the watchers awaiting it; here it only must not go unhandled.
    subscription.then(
      (unsubscribe) => {
        created.pending = undefined
        created.unsubscribe = unsubscribe
      },
      () => {
        if (this.#channels.get(id) === created) this.#channels.delete(id)
      },
    )
    this.#channels.set(id, created)
    return created
  }

  #detach(watcher: HubWatch): void {
    if (watcher.closed) return
    watcher.closed = true
    watcher.buffer = null
    const channel = this.#channels.get(watcher.id)
    if (!channel) return
    if (!channel.watchers.delete(watcher) || channel.watchers.size > 0) return
    this.#channels.delete(watcher.id)
    const latest = channel.latest === undefined || this.#closed ? null : parseBusMessage(channel.latest, watcher.id, Number.POSITIVE_INFINITY)
    if (latest) this.#recent.remember(latest)
    if (channel.unsubscribe) return channel.unsubscribe()
    channel.pending?.then(
      (unsubscribe) => unsubscribe(),
      () => {},
    )
  }

  #receive(watcher: HubWatch, message: BusEvent): void {
    if (watcher.closed) return
    if (watcher.buffer) watcher.buffer.push(message)
    else this.#deliver(watcher, message)
  }

  #deliver(watcher: HubWatch, message: BusEvent): void {
    if (watcher.closed || watcher.ended || !watcher.accept(message.event.seq)) return
    const terminal = isTerminal(message.event)
    if (terminal) watcher.ended = true
    try {
      const listener = watcher.listener
      if (typeof listener === 'function') listener(message)
      else listener.onJobEvent(message)
    } catch (error) {
      this.#detach(watcher)
      this.#onListenerError(error, watcher.id)
      return
    }
    if (terminal) this.#detach(watcher)
  }

  #onBusState(state: BusState, previous: BusState): void {
    if (state !== 'up' || previous !== 'down') return
    // Events published while we were disconnected never reach us: catch up from the snapshots.
    // A snapshot Redis lost (restarted empty) is put back from what this hub last saw.
    for (const [id, channel] of this.#channels) {
      this.#bus.get(id).then(
        (snapshot) => {
          const latest = channel.latest === undefined ? null : parseBusMessage(channel.latest, id, Number.POSITIVE_INFINITY)
          if (latest && mayRestore(snapshot?.event ?? null, latest.event)) return void this.#bus.restore(latest).catch(() => {})
          if (!snapshot) return
          if (!latest || snapshot.event.seq > latest.event.seq) channel.latest = snapshot.json
          for (const watcher of channel.watchers) this.#receive(watcher, snapshot)
        },
        () => {
          // Down again: the next `up` re-reads.
        },
      )
    }
    const unwatched = this.#recent.live().filter((message) => !this.#channels.has(message.event.id))
    restoreAll(this.#bus, unwatched).catch(() => {
      // Down again: the next `up` restores.
    })
  }
}
