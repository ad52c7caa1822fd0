import type { BackoffOptions } from './backoff.js'
import type { JobEvent } from './protocol.js'

/** The ways the client can reach the gateway, best first. */
export type TransportName = 'websocket' | 'sse' | 'polling'

/**
 * Connection state of a client: `idle` (nothing watched), `connecting` (trying a transport),
 * `connected` (a transport delivered), `reconnecting` (waiting to retry after a drop),
 * `unavailable` (every transport failed twice in a row without one coming up: the client keeps
 * trying every transport, with the `reconnect` backoff, and stays `unavailable` until one
 * connects), `closed`.
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unavailable' | 'closed'

/**
 * Why the connection state changed. `unreachable` (into `unavailable`): no transport reached
 * the gateway; nothing listening, a CORS or origin refusal and a network down look alike
 * from a page.
 */
export type StateReason = 'open' | 'timeout' | 'closed' | 'error' | 'fallback' | 'upgrade' | 'idle' | 'unreachable'

/** Passed to `onStateChange` on every change of state or transport. */
export interface StateChange {
  state: ConnectionState
  previous: ConnectionState
  /** The transport in use or being tried; `undefined` when idle, unavailable or closed. */
  transport?: TransportName
  reason: StateReason
}

/** A job token, or how to get one: called per connection and per job, and again when the gateway says `token_expired`. */
export type TokenSource = string | ((jobId: string) => string | undefined | Promise<string | undefined>)

/**
 * The part of a WebSocket the client uses. Both the browser's `WebSocket` and the `ws`
 * package's satisfy it (handlers take `never` so either event type fits).
 */
export interface WebSocketLike {
  binaryType: string
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
  send(data: string): void
  close(): void
}

/** A WebSocket constructor: the browser's, or `WebSocket` from `ws` on Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Options of {@link createClient}. Durations are milliseconds. */
export interface ClientOptions {
  /**
   * Base URL of the gateway, e.g. `https://api.example.com/jobcast`; routes `/v1/…` are
   * appended. The WebSocket URL is derived from it (`http` → `ws`).
   */
  url: string
  /** Job token, sent as `Authorization: Bearer` (HTTP) or in the `subscribe` frame (WebSocket). @default none */
  token?: TokenSource
  /**
   * Transports to try, best first. The client falls back along this list and later probes
   * the better ones again.
   * @default ['websocket', 'sse', 'polling']
   */
  transports?: TransportName[]
  /** `fetch` implementation. @default globalThis.fetch */
  fetch?: typeof fetch
  /** WebSocket constructor; pass `WebSocket` from `ws` on Node 20. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor
  /** Timer functions, e.g. for a worker or tests. @default globalThis.setTimeout / clearTimeout */
  setTimeout?: (fn: () => void, ms: number) => unknown
  /** @default globalThis.clearTimeout */
  clearTimeout?: (id: unknown) => void
  /**
   * How long a push transport may take from starting to connect until it delivers its first
   * frame (the gateway sends one at once). Past it the client falls back: this also catches
   * a proxy that buffers SSE.
   * @default 5000 (ms)
   */
  connectTimeout?: number
  /**
   * Silence after which an open push connection counts as dead and is reopened. The gateway
   * sends a heartbeat every 15 s; on WebSocket the client pings. Also how long one polling
   * request may hang before it is abandoned and retried.
   * @default 45000 (ms)
   */
  heartbeatTimeout?: number
  /**
   * Reconnect delays after a push connection dropped, and retry delays of one job the gateway
   * could not serve for a while (`bus_unavailable`, `rate_limited`, …); full jitter.
   * @default { initial: 1000, max: 30000, factor: 2 }
   */
  reconnect?: BackoffOptions
  /**
   * Polling delays (full jitter) while the gateway gives no pace. When it answers with a
   * `Retry-After` (seconds, above 0; it sends 1 for a running job by default), the next poll
   * comes that long later, plus at most a tenth of it as jitter.
   * @default { initial: 1000, max: 10000, factor: 1.5 }
   */
  poll?: BackoffOptions
  /** Polling requests per job before `JobTimeoutError` (reason `attempts`). @default Infinity */
  maxAttempts?: number
  /** Polling delays are multiplied by this while the page is hidden. @default 4 */
  hiddenSlowdown?: number
  /** How long an unknown job may stay unknown (it may be published a moment later) before the client asks once more and, still unknown, rejects with `JobNotFoundError`. @default 10000 (ms) */
  notFoundGrace?: number
  /**
   * How long a job the client has already seen may stay unknown to the gateway before
   * `JobLostError`: after Redis restarted without its data, a restore of the snapshot usually
   * comes within seconds of Redis returning. Any event, or the gateway knowing the job again,
   * ends the grace; once over, the job is asked for once more before the verdict. A gateway
   * that cannot reach Redis (`bus_unavailable`) never starts it.
   * @default 30000 (ms)
   */
  lostGrace?: number
  /** How long a connection stays open once nothing is watched. @default 5000 (ms) */
  linger?: number
  /**
   * While on a fallback, how often the best transport is probed again, beside the working one
   * (no gap: the switch happens once the probe delivers).
   * @default 60000 (ms)
   */
  upgradeAfter?: number
  /** Called on every change of connection state or transport. @default none */
  onStateChange?: (change: StateChange) => void
}

/** What every update callback receives beside the event. */
export interface UpdateInfo {
  /** The transport that delivered this update. */
  transport: TransportName
}

/** Options of one wait. */
export interface WatchOptions {
  /** Aborts the wait: it rejects (or the iterator throws) a `DOMException` named `AbortError`. @default none */
  signal?: AbortSignal
  /** Give up after this long, in ms, with `JobTimeoutError` (reason `deadline`); any length, `Infinity` included. @default none (wait as long as the job runs) */
  timeout?: number
}

/** Options of `waitForJob`. */
export interface WaitOptions extends WatchOptions {
  /** Called with every update, the terminal one included. @default none */
  onProgress?: (job: JobEvent, info: UpdateInfo) => void
}

/** Options of `subscribe`. */
export interface SubscribeOptions extends WatchOptions {
  /** Called once if watching ends with an error (not found, lost, auth, timeout, abort, client closed). @default none */
  onError?: (error: Error) => void
}

/** Something that fires events, like `window` and `document`. @internal */
export type EventTargetLike = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

/**
 * Options with defaults applied, plus the page polling watches (from `globalThis`, read only
 * here so every transport takes its platform from the options). Names ending in `_` are
 * internal: the minified bundles shorten them.
 * @internal
 */
export type Resolved = Required<Omit<ClientOptions, 'token' | 'onStateChange' | 'WebSocket'>> &
  Pick<ClientOptions, 'token' | 'onStateChange' | 'WebSocket'> & {
    /** The page's `document`, if any: polling slows down while it is hidden. */
    page_?: EventTargetLike & Pick<Document, 'visibilityState'>
    /** Where the browser fires `online` (`window`), if anywhere: polling polls at once then. */
    network_?: EventTargetLike
  }

/** Applies the defaults. @internal */
export const resolveOptions = (options: ClientOptions): Resolved => {
  const platform = globalThis as Partial<Window & typeof globalThis>
  const resolved = {
    transports: ['websocket', 'sse', 'polling'],
    WebSocket: platform.WebSocket as WebSocketConstructor | undefined,
    connectTimeout: 5000,
    heartbeatTimeout: 45000,
    reconnect: { initial: 1000, max: 30000, factor: 2 },
    poll: { initial: 1000, max: 10000, factor: 1.5 },
    maxAttempts: Infinity,
    hiddenSlowdown: 4,
    notFoundGrace: 10000,
    lostGrace: 30000,
    linger: 5000,
    upgradeAfter: 60000,
    page_: platform.document,
    network_: platform.addEventListener && platform,
  } as Partial<Resolved> as Resolved
  // Explicit `undefined`s (e.g. passed through by a wrapper) keep the default.
  for (const key in options)
    (resolved as unknown as Record<string, unknown>)[key] = options[key as keyof ClientOptions] ?? resolved[key as keyof Resolved]
  // Platform functions are called unbound: `window.fetch` called as `options.fetch(…)` throws
  // "Illegal invocation". The globals are read late so test doubles installed later apply.
  resolved.url = options.url.replace(/\/+$/, '')
  resolved.fetch = (input, init) => (options.fetch ?? platform.fetch!)(input, init)
  resolved.setTimeout = (callback, delay) => (options.setTimeout ?? platform.setTimeout!)(callback, delay)
  resolved.clearTimeout = (timer) => (options.clearTimeout ?? platform.clearTimeout!)(timer as number)
  return resolved
}
