/**
 * The job channels of one subscriber connection: a record per watched job, reference counted
 * by its listeners, so a gateway only receives the events of jobs someone watches. SSUBSCRIBE
 * and SUNSUBSCRIBE are serialized per channel and batched per event-loop turn (one command per
 * slot on a cluster), and every subscribed channel can be subscribed again after a reconnect.
 */
import { Cluster, type Redis } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { parseBusMessage } from '../event.js'
import type { BusEvent, BusListener } from './bus.js'
import { withTimeout } from './redis-commands.js'

interface ChannelRecord {
  readonly id: string
  /** The Redis channel (and snapshot key) of the job. */
  readonly channel: string
  /** Who listens to the channel (usually the hub alone); unsubscribed when it empties. */
  readonly listeners: Set<Listening>
  /** Whether the server-side subscription is in place (as far as this connection made it). */
  subscribed: boolean
  /** Serializes SUBSCRIBE/UNSUBSCRIBE of this channel. */
  chain: Promise<void>
}

/**
 * One `add()` call: an object of its own, so one function subscribed twice is counted
 * twice, and the unsubscribe function captures only this (not a wrapper closure per call).
 */
class Listening {
  readonly listener: BusListener
  readonly record: ChannelRecord
  done = false

  constructor(listener: BusListener, record: ChannelRecord) {
    this.listener = listener
    this.record = record
  }
}

/** Calls a listener as a plain function (`this` undefined), as a caller of `subscribe` expects. */
function call(listener: BusListener, message: BusEvent): void {
  listener(message)
}

type ChannelCommand = 'ssubscribe' | 'sunsubscribe'

/** Channels sent together: in one SSUBSCRIBE/SUNSUBSCRIBE, or one per slot on a cluster. */
interface ChannelBatch {
  readonly channels: string[]
  /** Settles with the command(s). */
  readonly done: Promise<void>
}

/** Upper bound on channels per SSUBSCRIBE/SUNSUBSCRIBE command (keeps one command's reply handling short). */
const MAX_CHANNELS_PER_COMMAND = 1000

/** The chain of a record with nothing in flight. */
const SETTLED: Promise<void> = Promise.resolve()

/** A shard channel command cannot span slots: one command per slot, sent concurrently. */
function sendPerSlot(connection: Redis | Cluster, kind: ChannelCommand, channels: readonly string[]): Promise<unknown> {
  if (!(connection instanceof Cluster)) return connection[kind](...channels)
  const bySlot = new Map<number, string[]>()
  for (const channel of channels) {
    const slot = calculateSlot(channel)
    const list = bySlot.get(slot)
    if (list) list.push(channel)
    else bySlot.set(slot, [channel])
  }
  return Promise.all([...bySlot.values()].map((list) => connection[kind](...list)))
}

/** Options of {@link ChannelSubscriptions}. */
export interface ChannelSubscriptionsOptions {
  /** A subscription unconfirmed after this long fails, in ms. */
  readonly timeoutMs: number
  /** Larger messages are dropped, in bytes. */
  readonly maxMessageBytes: number
  /** Called for each message dropped as malformed, oversized or about another job. */
  readonly onDropped: () => void
}

/** The channel subscriptions made on one subscriber connection; it delivers their messages. */
export class ChannelSubscriptions {
  /** The subscriber connection the channels are subscribed on. */
  readonly connection: Redis | Cluster
  readonly #timeoutMs: number
  readonly #maxMessageBytes: number
  readonly #onDropped: () => void
  readonly #channels = new Map<string, ChannelRecord>()
  /** Channels waiting for the next SSUBSCRIBE / SUNSUBSCRIBE (see #batched). */
  readonly #batches: { ssubscribe?: ChannelBatch; sunsubscribe?: ChannelBatch } = {}
  #closed = false

  constructor(connection: Redis | Cluster, options: ChannelSubscriptionsOptions) {
    this.connection = connection
    this.#timeoutMs = options.timeoutMs
    this.#maxMessageBytes = options.maxMessageBytes
    this.#onDropped = options.onDropped
    connection.on('smessage', (channel: string, json: string) => this.#deliver(channel, json))
  }

  /**
   * Adds `listener` to the channel of job `id`, subscribing it when it is the first; resolves
   * with the unsubscribe function once Redis confirmed. On failure the listener is removed
   * again and the error (a Redis error or a timeout) is passed on.
   */
  async add(id: string, channel: string, listener: BusListener): Promise<() => void> {
    let record = this.#channels.get(channel)
    if (!record) this.#channels.set(channel, (record = { id, channel, listeners: new Set(), subscribed: false, chain: SETTLED }))
    const entry = new Listening(listener, record)
    record.listeners.add(entry)
    try {
      await this.#sync(record)
    } catch (error) {
      record.listeners.delete(entry)
      this.#sync(record).catch(() => {})
      throw error
    }
    return () => this.#remove(entry)
  }

  /**
   * SSUBSCRIBE again (idempotent) every channel subscribed so far; resolves once Redis confirmed
   * them all, so a snapshot re-read after that cannot miss an event.
   */
  resubscribeAll(): Promise<void> {
    const channels: string[] = []
    for (const [channel, record] of this.#channels) if (record.subscribed) channels.push(channel)
    const commands: Promise<unknown>[] = []
    for (let start = 0; start < channels.length; start += MAX_CHANNELS_PER_COMMAND) {
      commands.push(sendPerSlot(this.connection, 'ssubscribe', channels.slice(start, start + MAX_CHANNELS_PER_COMMAND)))
    }
    return withTimeout(Promise.all(commands), this.#timeoutMs).then(() => {})
  }

  /** Forgets every channel and stops delivering; the connection's owner closes it. */
  close(): void {
    this.#closed = true
    this.#channels.clear()
  }

  #remove(entry: Listening): void {
    if (entry.done) return
    entry.done = true
    const record = entry.record
    record.listeners.delete(entry)
    if (record.listeners.size === 0 && !this.#closed) this.#sync(record).catch(() => {})
  }

  #sync(record: ChannelRecord): Promise<void> {
    // After whatever is in flight for this channel (its failure is its caller's concern).
    const prior = record.chain === SETTLED ? SETTLED : record.chain.catch(() => {})
    const chain: Promise<void> = prior.then(async () => {
      try {
        const wanted = record.listeners.size > 0
        if (wanted && !record.subscribed) {
          await this.#batched('ssubscribe', record.channel)
          record.subscribed = true
        } else if (!wanted && record.subscribed) {
          record.subscribed = false
          await this.#batched('sunsubscribe', record.channel)
        }
        if (record.listeners.size === 0 && !record.subscribed && this.#channels.get(record.channel) === record) this.#channels.delete(record.channel)
      } finally {
        // Not followed by another sync: an idle record keeps a shared promise, not its own.
        if (record.chain === chain) record.chain = SETTLED
      }
    })
    record.chain = chain
    return chain
  }

  /**
   * SSUBSCRIBE (or SUNSUBSCRIBE) `channel` together with every other channel asked for in the
   * same turn of the event loop: one command for a burst of new watches (clients reconnecting
   * after a deploy), not one command, promise and write per job; on a cluster one per slot.
   * Resolves when Redis has confirmed the whole batch.
   */
  #batched(kind: ChannelCommand, channel: string): Promise<void> {
    let batch = this.#batches[kind]
    if (batch === undefined || batch.channels.length >= MAX_CHANNELS_PER_COMMAND) {
      const channels: string[] = []
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          if (this.#batches[kind]?.channels === channels) this.#batches[kind] = undefined
          withTimeout(sendPerSlot(this.connection, kind, channels), this.#timeoutMs).then(() => resolve(), reject)
        })
      })
      this.#batches[kind] = batch = { channels, done }
    }
    batch.channels.push(channel)
    return batch.done
  }

  #deliver(channel: string, json: string): void {
    const record = this.#channels.get(channel)
    if (!record || record.listeners.size === 0) return
    // The record holds the id its channel was built from: no need to re-derive it per message.
    // Parsed once; every listener gets the same object, so frames can be cached per event.
    const message = parseBusMessage(json, record.id, this.#maxMessageBytes)
    if (!message) {
      this.#onDropped()
      return
    }
    for (const entry of record.listeners) call(entry.listener, message)
  }
}
