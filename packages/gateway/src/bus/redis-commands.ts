/**
 * The commands of a Redis bus on its command connection: each bounded by the command timeout,
 * refused at once during an outage, and its failure mapped to a stable code (`bus_unavailable`,
 * naming refused credentials, or `internal` for a command Redis rejected).
 */
import { Cluster, type Redis } from 'ioredis'
import { JobcastError } from '../errors.js'
import type { LuaScript } from './scripts.js'

/** Redis refused the credentials: ioredis keeps retrying and holds the command, so it is named in the timeout. */
const CREDENTIALS_REFUSED = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError'
}

/** `pending`, rejected after `timeoutMs` ms (a Cluster, or a refused login, can hold a command forever). */
export function withTimeout<T>(pending: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply from Redis within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer))
}

/** Options of {@link RedisCommands}. */
export interface RedisCommandsOptions {
  /** A command unanswered after this long fails with `bus_unavailable`, in ms. */
  readonly timeoutMs: number
  /** Where Redis is, for messages (never the password). */
  readonly target: string
}

/**
 * Runs commands on one connection and knows whether it is usable: the bus reports the
 * connection's events (`markReady`, `markDown`, `noteError`), so every command and
 * subscription failure names the same cause.
 */
export class RedisCommands {
  readonly #connection: Redis | Cluster
  readonly #timeoutMs: number
  readonly #target: string
  #ready = false
  #everReady = false
  /** The last refusal of the credentials, named when a command times out. */
  #credentialsError: string | undefined
  /** Commands in flight, so a closing bus lets a last publish finish (each is bounded by the timeout). */
  readonly #inflight = new Set<Promise<unknown>>()

  constructor(connection: Redis | Cluster, options: RedisCommandsOptions) {
    this.#connection = connection
    this.#timeoutMs = options.timeoutMs
    this.#target = options.target
    if (connection.status === 'ready') this.markReady()
  }

  /** Whether the connection is ready now. */
  get ready(): boolean {
    return this.#ready
  }

  /** The connection is ready (again): commands are sent at once and a refused login is forgotten. */
  markReady(): void {
    this.#ready = this.#everReady = true
    this.#credentialsError = undefined
  }

  /** The connection is lost: commands fail fast until it is ready again. */
  markDown(): void {
    this.#ready = false
  }

  /** Remembers a connection error that says Redis refused the credentials. */
  noteError(text: string): void {
    if (CREDENTIALS_REFUSED.test(text)) this.#credentialsError = text
  }

  /** Runs `command` for job `id`; rejects with `bus_unavailable` or `internal`. */
  async run<T>(id: string, command: () => Promise<T>): Promise<T> {
    // Fail fast during an outage; before the first connect, commands wait (bounded by the timeout).
    if (this.#everReady && !this.#ready) throw this.unavailable(id)
    // ioredis' own commandTimeout covers a command sent on a ready connection; one held in an
    // offline queue (before a login that may never succeed) or by a Cluster (redirections,
    // slot refreshes) gets a timer of its own. Not every GET: polling is the hot path.
    const pending = this.#ready && !(this.#connection instanceof Cluster) ? command() : withTimeout(command(), this.#timeoutMs)
    this.#inflight.add(pending)
    try {
      return await pending
    } catch (error) {
      // Behind Sentinel the refusal is the command's own reply, not a connection error.
      if (isReplyError(error) && CREDENTIALS_REFUSED.test(error.message)) this.#credentialsError = error.message
      else if (isReplyError(error) && !error.message.startsWith('NOSCRIPT')) {
        throw new JobcastError('internal', `[jobcast] Redis refused a command for job ${id}: ${error.message}`, { jobId: id, cause: error })
      }
      throw this.unavailable(id, error)
    } finally {
      this.#inflight.delete(pending)
    }
  }

  /** EVALSHA of `script` on one key, and EVAL when Redis does not know it yet (a fresh or restarted server). */
  async runScript(script: LuaScript, key: string, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await this.#connection.evalsha(script.sha, 1, key, ...args)
    } catch (error) {
      if (!(isReplyError(error) && error.message.startsWith('NOSCRIPT'))) throw error
      return await this.#connection.eval(script.source, 1, key, ...args)
    }
  }

  /** The `bus_unavailable` error for job `id`, naming refused credentials when that is the cause. */
  unavailable(id: string, cause?: unknown): JobcastError {
    const message =
      this.#credentialsError !== undefined
        ? `[jobcast] Redis (${this.#target}) refused the credentials (${this.#credentialsError}) (job ${id}): check the Redis user name and password`
        : `[jobcast] Redis (${this.#target}) is unavailable (job ${id}): check that it runs and the Redis settings point at it; retry shortly`
    return new JobcastError('bus_unavailable', message, { jobId: id, cause })
  }

  /** Settles once the commands in flight have. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inflight])
  }
}
