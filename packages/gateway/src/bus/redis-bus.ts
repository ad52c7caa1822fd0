/**
 * The Redis bus: snapshots and the publish script on one command connection, and ONE
 * subscriber connection for all jobs (on a cluster, one per master it needs) with per-job
 * SSUBSCRIBE, reference counted, so a gateway only receives the events of jobs someone
 * watches. Sharded pub/sub on every topology, so one path. See docs/protocol.md, "Redis layout".
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { JobcastError } from '../errors.js'
import { assertJobId, DEFAULT_MAX_MESSAGE_BYTES, eventInputJson, normalizeEventInput, parseBusMessage } from '../event.js'
import type { JobEventInput } from '../protocol.js'
import type { Bus, BusEvent, BusListener, BusState, PublishOutcome } from './bus.js'
import { DEFAULT_PREFIX, jobKey } from './keys.js'
import { PUBLISH, RESTORE, type LuaScript } from './scripts.js'
import { createRedisConnections, describeRedisTarget, type RedisConnectionSettings } from './redis-connection.js'
import { rateLimitedLog, type LogLine } from './rate-limited-log.js'

/** Options of {@link createRedisBus}. Give `url`, `connection` or `redis`. */
export interface RedisBusOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. Ignored when `redis` or `connection` is given. @default "redis://127.0.0.1:6379" */
  url?: string
  /**
   * Where Redis is, on any topology (one server, a cluster, a sentinel group), with
   * credentials and TLS: checked settings (`checkRedisSettings`). Ignored when `redis` is given.
   * @default { url } (one server)
   */
  connection?: RedisConnectionSettings
  /** An existing connection to use for commands; it is not closed by `close()`. The subscriber connection is its `duplicate()`. */
  redis?: Redis
  /** Key and channel prefix. @default "jobcast:" */
  prefix?: string
  /** Snapshot time to live, in seconds. @default 86400 */
  ttlSeconds?: number
  /** Larger bus messages are dropped (and counted in `stats.dropped`); larger events are refused at publish. In bytes. @default 65536 */
  maxMessageBytes?: number
  /**
   * A command (or a subscription) unanswered after this long fails with `bus_unavailable`, in
   * ms; its message names the cause when Redis refused the credentials (ioredis would wait).
   * @default 5000
   */
  commandTimeoutMs?: number
  /**
   * Receives connection errors (the ioredis reconnect spin) as `[jobcast] …` lines, at most one
   * every `errorLogIntervalMs`. Never contains a password. @default undefined (not logged)
   */
  log?: LogLine
  /** Shortest time between two lines passed to `log`, in ms. @default 10000 */
  errorLogIntervalMs?: number
  /**
   * Open the subscriber connection only on the first `subscribe()` (a publish-only bus never
   * opens it). When false, it opens at once, so `state` is `up` only when both connections are.
   * @default false
   */
  lazySubscriber?: boolean
  /**
   * Send the commands issued in one event-loop turn in one socket write (ioredis auto-pipelining)
   * on the owned command connection. The gateway turns it on: with many pollers, a write per GET
   * was a quarter of its polling CPU profile. Costs a `setImmediate` of delay per batch.
   * @default false
   */
  autoPipelining?: boolean
  /**
   * After a reconnect, send again a command whose reply was lost on the owned command
   * connection. Safe for a caller that has at most one publish per job in flight (the
   * publisher): the script answers a resent event with its first outcome. Not for concurrent
   * publishes of one job (HTTP ingest): an older event resent after a newer one landed would be
   * published again, after it. Without it such a command fails with `bus_unavailable`.
   * @default false
   */
  resendLostReplies?: boolean
}

/** Counters of a {@link RedisBus}. */
export interface RedisBusStats {
  /** Messages received on a job channel that were malformed, oversized or about another job. */
  dropped: number
}

interface ChannelRecord {
  readonly id: string
  /** The Redis channel (and snapshot key) of the job. */
  readonly channel: string
  /** Who listens to the channel (usually the hub alone); unsubscribed when it empties. */
  readonly listeners: Set<Listening>
  /** Whether the server-side subscription is in place (as far as this bus made it). */
  subscribed: boolean
  /** Serializes SUBSCRIBE/UNSUBSCRIBE of this channel. */
  chain: Promise<void>
}

/**
 * One `subscribe()` call: an object of its own, so one function subscribed twice is counted
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

/** Channels sent together: in one SSUBSCRIBE/SUNSUBSCRIBE, or one per slot on a cluster. */
interface ChannelBatch {
  readonly connection: Redis | Cluster
  readonly channels: string[]
  /** Settles with the command(s). */
  readonly done: Promise<void>
}

/** Upper bound on channels per SSUBSCRIBE/SUNSUBSCRIBE command (keeps one command's reply handling short). */
const MAX_CHANNELS_PER_COMMAND = 1000

/** Pause before subscribing again after a re-subscription failed (a shard still unreachable), ms. */
const RESUBSCRIBE_RETRY_MS = 500

/** Redis refused the credentials: ioredis keeps retrying and holds the command, so it is named in the timeout. */
const CREDENTIALS_REFUSED = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i

/** A shard channel command cannot span slots: one command per slot, sent concurrently. */
function sendPerSlot(connection: Redis | Cluster, kind: 'ssubscribe' | 'sunsubscribe', channels: readonly string[]): Promise<unknown> {
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

/** The chain of a record with nothing in flight. */
const SETTLED: Promise<void> = Promise.resolve()


function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError'
}

/** Redis-backed {@link Bus}. */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const
  /** Key and channel prefix in use. */
  readonly prefix: string
  /** Counters; `dropped` counts malformed messages. */
  readonly stats: RedisBusStats = { dropped: 0 }
  readonly #ttl: number
  readonly #maxBytes: number
  readonly #timeout: number
  readonly #cmd: Redis | Cluster
  readonly #ownsCmd: boolean
  /** Builds the subscriber connection (a duplicate of the given one, or the owned pair's). */
  readonly #makeSubscriber: () => Redis | Cluster
  /** Closes what `#makeSubscriber` prepared when it was never called (a publish-only bus). */
  readonly #dropUnusedSubscriber: () => void
  readonly #log: LogLine | undefined
  /** Where Redis is, for messages (never the password). */
  readonly #target: string
  /** The last refusal of the credentials, named when a command times out. */
  #credentialsError: string | undefined
  #sub: Redis | Cluster | undefined
  /** Counts subscriber outages, so a re-subscription made before the latest one does not report `up`. */
  #subGeneration = 0
  #resubscribeTimer: NodeJS.Timeout | undefined
  #cmdReady = false
  #cmdEverReady = false
  #subReady = false
  #subEverReady = false
  #state: BusState = 'down'
  readonly #channels = new Map<string, ChannelRecord>()
  readonly #stateListeners = new Set<(state: BusState, previous: BusState) => void>()
  /** Commands in flight, so close() lets a last publish finish (each is bounded by the command timeout). */
  readonly #inflight = new Set<Promise<unknown>>()
  /** Channels waiting for the next SSUBSCRIBE / SUNSUBSCRIBE (see #batched). */
  readonly #batches: { ssubscribe?: ChannelBatch; sunsubscribe?: ChannelBatch } = {}
  #closed: Promise<void> | undefined

  constructor(options: RedisBusOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.#ttl = options.ttlSeconds ?? 86_400
    if (!Number.isInteger(this.#ttl) || this.#ttl < 1) throw new JobcastError('invalid_config', '[jobcast] ttlSeconds must be a whole number of seconds ≥ 1')
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.#timeout = options.commandTimeoutMs ?? 5000
    const write = options.log
    this.#log = write && rateLimitedLog(write, options.errorLogIntervalMs ?? 10_000)
    if (options.redis) {
      const given = options.redis
      this.#cmd = given
      this.#ownsCmd = false
      this.#target = 'the given Redis connection'
      this.#makeSubscriber = () => given.duplicate({ ...this.#connectionOptions(), autoResubscribe: true, autoResendUnfulfilledCommands: true })
      this.#dropUnusedSubscriber = () => {}
    } else {
      const settings = options.connection ?? { url: options.url ?? 'redis://127.0.0.1:6379' }
      this.#target = describeRedisTarget(settings)
      const redisOptions = this.#connectionOptions()
      const commandOptions: RedisOptions = {
        ...redisOptions,
        autoResendUnfulfilledCommands: options.resendLostReplies ?? false,
        enableAutoPipelining: options.autoPipelining ?? false,
      }
      const connections = createRedisConnections(settings, {
        redisOptions: commandOptions,
        subscriberOptions: { ...redisOptions, autoResubscribe: true, autoResendUnfulfilledCommands: true, enableAutoPipelining: false },
        lazySubscriber: true,
      })
      this.#cmd = connections.command
      this.#ownsCmd = true
      this.#makeSubscriber = () => {
        // Its errors are reported through the listeners attached right after this.
        connections.subscriber.connect().catch(() => {})
        return connections.subscriber
      }
      this.#dropUnusedSubscriber = () => connections.subscriber.disconnect()
    }
    this.#watchConnection(this.#cmd, 'cmd')
    if (this.#cmd.status === 'ready') this.#cmdReady = this.#cmdEverReady = true
    if (!options.lazySubscriber) this.#subscriber()
    this.#update()
  }

  get state(): BusState {
    return this.#state
  }

  async publish(input: JobEventInput): Promise<PublishOutcome> {
    this.#assertOpen()
    const normalized = normalizeEventInput(input)
    const body = eventInputJson(normalized, this.#maxBytes)
    const key = jobKey(this.prefix, normalized.id)
    const reply = await this.#command(normalized.id, () => this.#runScript(PUBLISH, key, body))
    if (!Array.isArray(reply) || typeof reply[1] !== 'string') {
      throw new JobcastError('internal', `[jobcast] unexpected reply from the publish script for job ${normalized.id}: is another script loaded under its SHA?`, { jobId: normalized.id })
    }
    const parsed = parseBusMessage(reply[1], normalized.id, Number.POSITIVE_INFINITY)
    if (reply[0] === 1 && parsed) return { published: true, event: parsed.event }
    if (reply[0] === 0 && parsed) return { published: false, reason: 'terminal', current: parsed.event }
    throw new JobcastError('internal', `[jobcast] the snapshot of job ${normalized.id} is not a valid event: delete key ${key}`, { jobId: normalized.id })
  }

  async restore(message: BusEvent): Promise<boolean> {
    this.#assertOpen()
    const id = message.event.id
    assertJobId(id)
    const reply = await this.#command(id, () => this.#runScript(RESTORE, jobKey(this.prefix, id), message.json))
    return reply === 1
  }

  async get(id: string): Promise<BusEvent | null> {
    this.#assertOpen()
    assertJobId(id)
    const json = await this.#command(id, () => this.#cmd.get(jobKey(this.prefix, id)))
    if (json === null) return null
    const message = parseBusMessage(json, id, this.#maxBytes)
    if (!message) this.stats.dropped++
    return message
  }

  async subscribe(id: string, listener: BusListener): Promise<() => void> {
    this.#assertOpen()
    assertJobId(id)
    const sub = this.#subscriber()
    if (this.#subEverReady && !this.#subReady) throw this.#unavailable(id)
    const channel = jobKey(this.prefix, id)
    let record = this.#channels.get(channel)
    if (!record) this.#channels.set(channel, (record = { id, channel, listeners: new Set(), subscribed: false, chain: SETTLED }))
    const entry = new Listening(listener, record)
    record.listeners.add(entry)
    const rec = record
    try {
      await this.#sync(sub, channel, rec)
    } catch (error) {
      rec.listeners.delete(entry)
      this.#sync(sub, channel, rec).catch(() => {})
      throw error instanceof JobcastError ? error : this.#unavailable(id, error)
    }
    return () => this.#unsubscribe(entry)
  }

  #unsubscribe(entry: Listening): void {
    if (entry.done) return
    entry.done = true
    const rec = entry.record
    rec.listeners.delete(entry)
    if (rec.listeners.size === 0 && !this.#closed && this.#sub) this.#sync(this.#sub, rec.channel, rec).catch(() => {})
  }

  /** The channels this bus has subscribed (as far as it knows). */
  #subscribedChannels(): string[] {
    const channels: string[] = []
    for (const [channel, rec] of this.#channels) if (rec.subscribed) channels.push(channel)
    return channels
  }

  onStateChange(listener: (state: BusState, previous: BusState) => void): () => void {
    this.#stateListeners.add(listener)
    return () => void this.#stateListeners.delete(listener)
  }

  close(): Promise<void> {
    this.#closed ??= Promise.resolve().then(async () => {
      clearTimeout(this.#resubscribeTimer)
      this.#channels.clear()
      this.#update()
      this.#stateListeners.clear()
      await Promise.allSettled([...this.#inflight])
      // QUIT lets commands already sent (a last publish) finish; a dead link is just dropped.
      const end = async (connection: Redis | Cluster) => {
        if (connection.status !== 'ready') return connection.disconnect()
        await connection.quit().catch(() => connection.disconnect())
      }
      if (!this.#sub) this.#dropUnusedSubscriber()
      await Promise.all([this.#sub ? end(this.#sub) : undefined, this.#ownsCmd ? end(this.#cmd) : undefined])
    })
    return this.#closed
  }

  #connectionOptions(): RedisOptions {
    return {
      commandTimeout: this.#timeout,
      maxRetriesPerRequest: 1,
      // Keep reconnecting, at most every 2 s: an outage must end by itself.
      retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
    }
  }

  #subscriber(): Redis | Cluster {
    if (!this.#sub) {
      const sub = this.#makeSubscriber()
      this.#sub = sub
      sub.on('smessage', (channel: string, json: string) => this.#onMessage(channel, json))
      this.#watchConnection(sub, 'sub')
      this.#update()
    }
    return this.#sub
  }

  #watchConnection(connection: Redis | Cluster, role: 'cmd' | 'sub'): void {
    // Without an 'error' listener an outage would crash the process; state changes report it.
    const onError = (error: Error & { lastNodeError?: Error }) => this.#onConnectionError(role, error)
    connection.on('error', onError)
    connection.on('node error', onError)
    connection.on('nodeError', onError)
    const down = () => {
      if (role === 'cmd') this.#cmdReady = false
      else {
        this.#subReady = false
        this.#subGeneration++
      }
      this.#update()
    }
    connection.on('close', down)
    connection.on('end', down)
    connection.on('reconnecting', down)
    if (role === 'sub' && connection instanceof Cluster) {
      // A node lost (a master died), a shard's subscriber replaced (its master hung), or a new
      // slot map (failover, slot move: the old owner drops the moved slots' channels). ioredis
      // re-subscribes by itself but does not say when that is confirmed ('subscribersReady'
      // comes before): down, subscribe again, 'up' once confirmed, so the hub re-reads
      // snapshots. So the bus is down while a shard holding a watched job is unreachable.
      const topologyChanged = () => {
        down()
        this.#resubscribe(connection)
      }
      connection.on('-node', topologyChanged)
      connection.on('-subscriber', topologyChanged)
      connection.on('subscribersReady', topologyChanged)
    }
    connection.on('ready', () => {
      if (role === 'cmd') {
        this.#cmdReady = this.#cmdEverReady = true
        this.#credentialsError = undefined
        this.#update()
        return
      }
      this.#resubscribe(connection)
    })
  }

  #onConnectionError(role: 'cmd' | 'sub', error: Error & { lastNodeError?: Error }): void {
    const text = `${error.message}${error.lastNodeError ? ` (${error.lastNodeError.message})` : ''}`
    if (CREDENTIALS_REFUSED.test(text)) this.#credentialsError = text
    this.#log?.(`[jobcast] Redis ${role === 'cmd' ? 'command' : 'subscriber'} connection to ${this.#target}: ${text}; retrying`)
  }

  /**
   * ioredis resubscribes by itself on reconnect; SSUBSCRIBE again (idempotent) and report 'up'
   * only once that is acknowledged, so a snapshot re-read after 'up' cannot miss an event.
   * Retried while it fails (a shard not reachable yet); one attempt at a time.
   */
  #resubscribe(connection: Redis | Cluster): void {
    clearTimeout(this.#resubscribeTimer)
    this.#resubscribeTimer = undefined
    const generation = this.#subGeneration
    const channels = this.#subscribedChannels()
    const commands: Promise<unknown>[] = []
    for (let start = 0; start < channels.length; start += MAX_CHANNELS_PER_COMMAND) {
      commands.push(sendPerSlot(connection, 'ssubscribe', channels.slice(start, start + MAX_CHANNELS_PER_COMMAND)))
    }
    this.#withTimeout(Promise.all(commands)).then(
      () => {
        if (this.#closed || generation !== this.#subGeneration || connection !== this.#sub) return
        if (connection instanceof Redis && connection.status !== 'ready') return
        this.#subReady = this.#subEverReady = true
        this.#update()
      },
      () => {
        if (this.#closed || connection !== this.#sub) return
        // One Redis: a fresh connection resubscribes everything (and emits 'ready' again).
        if (connection instanceof Redis) return void connection.disconnect(true)
        if (generation !== this.#subGeneration) return
        this.#resubscribeTimer = setTimeout(() => this.#resubscribe(connection), RESUBSCRIBE_RETRY_MS)
        this.#resubscribeTimer.unref?.()
      },
    )
  }

  /** `pending`, rejected after the command timeout (a Cluster, or a refused login, can hold a command forever). */
  #withTimeout<T>(pending: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply from Redis within ${this.#timeout} ms`)), this.#timeout)
    })
    return Promise.race([pending, timeout]).finally(() => clearTimeout(timer))
  }

  #update(): void {
    const previous = this.#state
    const next: BusState = this.#closed ? 'closed' : this.#cmdReady && (!this.#sub || this.#subReady) ? 'up' : 'down'
    if (next === previous) return
    this.#state = next
    for (const listener of [...this.#stateListeners]) listener(next, previous)
  }

  #sync(sub: Redis | Cluster, channel: string, rec: ChannelRecord): Promise<void> {
    // After whatever is in flight for this channel (its failure is its caller's concern).
    const prior = rec.chain === SETTLED ? SETTLED : rec.chain.catch(() => {})
    const chain: Promise<void> = prior.then(async () => {
      try {
        const wanted = rec.listeners.size > 0
        if (wanted && !rec.subscribed) {
          await this.#batched(sub, 'ssubscribe', channel)
          rec.subscribed = true
        } else if (!wanted && rec.subscribed) {
          rec.subscribed = false
          await this.#batched(sub, 'sunsubscribe', channel)
        }
        if (rec.listeners.size === 0 && !rec.subscribed && this.#channels.get(channel) === rec) this.#channels.delete(channel)
      } finally {
        // Not followed by another sync: an idle record keeps a shared promise, not its own.
        if (rec.chain === chain) rec.chain = SETTLED
      }
    })
    rec.chain = chain
    return chain
  }

  /**
   * SSUBSCRIBE (or SUNSUBSCRIBE) `channel` together with every other channel asked for in the
   * same turn of the event loop: one command for a burst of new watches (clients reconnecting
   * after a deploy), not one command, promise and write per job; on a cluster one per slot.
   * Resolves when Redis has confirmed the whole batch.
   */
  #batched(sub: Redis | Cluster, kind: 'ssubscribe' | 'sunsubscribe', channel: string): Promise<void> {
    let batch = this.#batches[kind]
    if (batch === undefined || batch.connection !== sub || batch.channels.length >= MAX_CHANNELS_PER_COMMAND) {
      const channels: string[] = []
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          if (this.#batches[kind]?.channels === channels) this.#batches[kind] = undefined
          this.#withTimeout(sendPerSlot(sub, kind, channels)).then(() => resolve(), reject)
        })
      })
      this.#batches[kind] = batch = { connection: sub, channels, done }
    }
    batch.channels.push(channel)
    return batch.done
  }

  #onMessage(channel: string, json: string): void {
    const rec = this.#channels.get(channel)
    if (!rec || rec.listeners.size === 0) return
    // The record holds the id its channel was built from: no need to re-derive it per message.
    // Parsed once; every listener gets the same object, so frames can be cached per event.
    const message = parseBusMessage(json, rec.id, this.#maxBytes)
    if (!message) {
      this.stats.dropped++
      return
    }
    for (const entry of rec.listeners) call(entry.listener, message)
  }

  async #command<T>(id: string, run: () => Promise<T>): Promise<T> {
    // Fail fast during an outage; before the first connect, commands wait (bounded by the timeout).
    if (this.#cmdEverReady && !this.#cmdReady) throw this.#unavailable(id)
    // ioredis' own commandTimeout covers a command sent on a ready connection; one held in an
    // offline queue (before a login that may never succeed) or by a Cluster (redirections,
    // slot refreshes) gets a timer of its own. Not every GET: polling is the hot path.
    const pending = this.#cmdReady && !(this.#cmd instanceof Cluster) ? run() : this.#withTimeout(run())
    this.#inflight.add(pending)
    try {
      return await pending
    } catch (error) {
      // Behind Sentinel the refusal is the command's own reply, not a connection error.
      if (isReplyError(error) && CREDENTIALS_REFUSED.test(error.message)) this.#credentialsError = error.message
      else if (isReplyError(error) && !error.message.startsWith('NOSCRIPT')) {
        throw new JobcastError('internal', `[jobcast] Redis refused a command for job ${id}: ${error.message}`, { jobId: id, cause: error })
      }
      throw this.#unavailable(id, error)
    } finally {
      this.#inflight.delete(pending)
    }
  }

  /** EVALSHA, and EVAL when Redis does not know the script yet (a fresh or restarted server). */
  async #runScript(script: LuaScript, key: string, argument: string): Promise<unknown> {
    try {
      return await this.#cmd.evalsha(script.sha, 1, key, argument, this.#ttl, this.#maxBytes)
    } catch (error) {
      if (!(isReplyError(error) && error.message.startsWith('NOSCRIPT'))) throw error
      return await this.#cmd.eval(script.source, 1, key, argument, this.#ttl, this.#maxBytes)
    }
  }

  #unavailable(id: string, cause?: unknown): JobcastError {
    const message =
      this.#credentialsError !== undefined
        ? `[jobcast] Redis (${this.#target}) refused the credentials (${this.#credentialsError}) (job ${id}): check the Redis user name and password`
        : `[jobcast] Redis (${this.#target}) is unavailable (job ${id}): check that it runs and the Redis settings point at it; retry shortly`
    return new JobcastError('bus_unavailable', message, {
      jobId: id,
      cause,
    })
  }

  #assertOpen(): void {
    if (this.#closed) throw new JobcastError('bus_unavailable', '[jobcast] the bus is closed: create a new one')
  }
}

/** Creates a Redis-backed {@link Bus}. Connects at once; `state` turns `up` when ready. */
export function createRedisBus(options: RedisBusOptions = {}): RedisBus {
  return new RedisBus(options)
}
