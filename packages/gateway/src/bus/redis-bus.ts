/**
 * The Redis bus: snapshots and the publish script on one command connection, and ONE
 * subscriber connection for all jobs (on a cluster, one per master it needs) with per-job
 * SSUBSCRIBE, reference counted, so a gateway only receives the events of jobs someone
 * watches. Sharded pub/sub on every topology, so one path. See docs/protocol.md, "Redis layout".
 * RedisBus composes its connections, the command runner and the channel subscriptions, and
 * owns the bus state (up only when both connections are and every subscription is confirmed).
 */
import { Cluster, Redis } from 'ioredis'
import { JobcastError } from '../errors.js'
import { assertJobId, DEFAULT_MAX_MESSAGE_BYTES, eventInputJson, normalizeEventInput, parseBusMessage } from '../event.js'
import type { JobEventInput } from '../protocol.js'
import type { Bus, BusEvent, BusListener, BusState, PublishOutcome } from './bus.js'
import { DEFAULT_PREFIX, jobKey } from './keys.js'
import { PUBLISH, RESTORE } from './scripts.js'
import { ChannelSubscriptions } from './channel-subscriptions.js'
import { RedisCommands } from './redis-commands.js'
import { redisBusConnections, type RedisBusConnections } from './redis-bus-connections.js'
import type { RedisConnectionSettings } from './redis-settings.js'
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

/** Pause before subscribing again after a re-subscription failed (a shard still unreachable), ms. */
const RESUBSCRIBE_RETRY_MS = 500

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
  readonly #connections: RedisBusConnections
  readonly #commands: RedisCommands
  readonly #log: LogLine | undefined
  /** The channels of the subscriber connection, made on the first `subscribe()` unless eager. */
  #subscriptions: ChannelSubscriptions | undefined
  /** Counts subscriber outages, so a re-subscription made before the latest one does not report `up`. */
  #subGeneration = 0
  #resubscribeTimer: NodeJS.Timeout | undefined
  #subReady = false
  #subEverReady = false
  #state: BusState = 'down'
  readonly #stateListeners = new Set<(state: BusState, previous: BusState) => void>()
  #closed: Promise<void> | undefined

  constructor(options: RedisBusOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.#ttl = options.ttlSeconds ?? 86_400
    if (!Number.isInteger(this.#ttl) || this.#ttl < 1) throw new JobcastError('invalid_config', '[jobcast] ttlSeconds must be a whole number of seconds ≥ 1')
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.#timeout = options.commandTimeoutMs ?? 5000
    const write = options.log
    this.#log = write && rateLimitedLog(write, options.errorLogIntervalMs ?? 10_000)
    this.#connections = redisBusConnections(options, this.#timeout)
    this.#commands = new RedisCommands(this.#connections.command, { timeoutMs: this.#timeout, target: this.#connections.target })
    this.#watchConnection(this.#connections.command, 'cmd')
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
    const reply = await this.#commands.run(normalized.id, () => this.#commands.runScript(PUBLISH, key, [body, this.#ttl, this.#maxBytes]))
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
    const reply = await this.#commands.run(id, () => this.#commands.runScript(RESTORE, jobKey(this.prefix, id), [message.json, this.#ttl, this.#maxBytes]))
    return reply === 1
  }

  async get(id: string): Promise<BusEvent | null> {
    this.#assertOpen()
    assertJobId(id)
    const json = await this.#commands.run(id, () => this.#connections.command.get(jobKey(this.prefix, id)))
    if (json === null) return null
    const message = parseBusMessage(json, id, this.#maxBytes)
    if (!message) this.stats.dropped++
    return message
  }

  async subscribe(id: string, listener: BusListener): Promise<() => void> {
    this.#assertOpen()
    assertJobId(id)
    const subscriptions = this.#subscriber()
    if (this.#subEverReady && !this.#subReady) throw this.#commands.unavailable(id)
    try {
      return await subscriptions.add(id, jobKey(this.prefix, id), listener)
    } catch (error) {
      throw error instanceof JobcastError ? error : this.#commands.unavailable(id, error)
    }
  }

  onStateChange(listener: (state: BusState, previous: BusState) => void): () => void {
    this.#stateListeners.add(listener)
    return () => void this.#stateListeners.delete(listener)
  }

  close(): Promise<void> {
    this.#closed ??= Promise.resolve().then(async () => {
      clearTimeout(this.#resubscribeTimer)
      this.#subscriptions?.close()
      this.#update()
      this.#stateListeners.clear()
      await this.#commands.settled()
      // QUIT lets commands already sent (a last publish) finish; a dead link is just dropped.
      const end = async (connection: Redis | Cluster) => {
        if (connection.status !== 'ready') return connection.disconnect()
        await connection.quit().catch(() => connection.disconnect())
      }
      if (!this.#subscriptions) this.#connections.dropUnusedSubscriber()
      await Promise.all([this.#subscriptions ? end(this.#subscriptions.connection) : undefined, this.#connections.ownsCommand ? end(this.#connections.command) : undefined])
    })
    return this.#closed
  }

  #subscriber(): ChannelSubscriptions {
    if (!this.#subscriptions) {
      const connection = this.#connections.openSubscriber()
      this.#subscriptions = new ChannelSubscriptions(connection, {
        timeoutMs: this.#timeout,
        maxMessageBytes: this.#maxBytes,
        onDropped: () => void this.stats.dropped++,
      })
      this.#watchConnection(connection, 'sub')
      this.#update()
    }
    return this.#subscriptions
  }

  #watchConnection(connection: Redis | Cluster, role: 'cmd' | 'sub'): void {
    // Without an 'error' listener an outage would crash the process; state changes report it.
    const onError = (error: Error & { lastNodeError?: Error }) => this.#onConnectionError(role, error)
    connection.on('error', onError)
    connection.on('node error', onError)
    connection.on('nodeError', onError)
    const down = () => {
      if (role === 'cmd') this.#commands.markDown()
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
        this.#resubscribe()
      }
      connection.on('-node', topologyChanged)
      connection.on('-subscriber', topologyChanged)
      connection.on('subscribersReady', topologyChanged)
    }
    connection.on('ready', () => {
      if (role === 'cmd') {
        this.#commands.markReady()
        this.#update()
        return
      }
      this.#resubscribe()
    })
  }

  #onConnectionError(role: 'cmd' | 'sub', error: Error & { lastNodeError?: Error }): void {
    const text = `${error.message}${error.lastNodeError ? ` (${error.lastNodeError.message})` : ''}`
    this.#commands.noteError(text)
    this.#log?.(`[jobcast] Redis ${role === 'cmd' ? 'command' : 'subscriber'} connection to ${this.#connections.target}: ${text}; retrying`)
  }

  /**
   * ioredis resubscribes by itself on reconnect; subscribe again and report 'up' only once that
   * is acknowledged, so a snapshot re-read after 'up' cannot miss an event. Retried while it
   * fails (a shard not reachable yet); one attempt at a time.
   */
  #resubscribe(): void {
    clearTimeout(this.#resubscribeTimer)
    this.#resubscribeTimer = undefined
    const subscriptions = this.#subscriptions
    if (!subscriptions) return
    const connection = subscriptions.connection
    const generation = this.#subGeneration
    subscriptions.resubscribeAll().then(
      () => {
        if (this.#closed || generation !== this.#subGeneration) return
        if (connection instanceof Redis && connection.status !== 'ready') return
        this.#subReady = this.#subEverReady = true
        this.#update()
      },
      () => {
        if (this.#closed) return
        // One Redis: a fresh connection resubscribes everything (and emits 'ready' again).
        if (connection instanceof Redis) return void connection.disconnect(true)
        if (generation !== this.#subGeneration) return
        this.#resubscribeTimer = setTimeout(() => this.#resubscribe(), RESUBSCRIBE_RETRY_MS)
        this.#resubscribeTimer.unref?.()
      },
    )
  }

  #update(): void {
    const previous = this.#state
    const next: BusState = this.#closed ? 'closed' : this.#commands.ready && (!this.#subscriptions || this.#subReady) ? 'up' : 'down'
    if (next === previous) return
    this.#state = next
    for (const listener of [...this.#stateListeners]) listener(next, previous)
  }

  #assertOpen(): void {
    if (this.#closed) throw new JobcastError('bus_unavailable', '[jobcast] the bus is closed: create a new one')
  }
}

/** Creates a Redis-backed {@link Bus}. Connects at once; `state` turns `up` when ready. */
export function createRedisBus(options: RedisBusOptions = {}): RedisBus {
  return new RedisBus(options)
}
