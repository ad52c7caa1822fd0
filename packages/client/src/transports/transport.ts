import type { JobEvent } from '../protocol.js'
import type { Resolved } from '../options.js'
import { wireCodeAction } from '../wire-codes.js'

// Names ending in `_` are internal to the package: the minified bundles shorten them
// (rollup.config.mjs, `mangle.properties`).

/**
 * How a transport reports to the client. The client wraps it per connection, so calls from a
 * transport it already closed are ignored: transports need not guard against that.
 */
export interface TransportSink {
  /** Something arrived: the connection works (first call ends the connect window). */
  alive_(): void
  /** A job event. May repeat or arrive out of order across reconnects: the client filters by `seq`. */
  event_(job: JobEvent): void
  /** The gateway said whether it knows the job yet. */
  exists_(id: string, exists: boolean): void
  /**
   * A per-job error with a wire code (`unauthorized`, `token_expired`, `bus_unavailable`, …;
   * `attempts` from polling). The client acts on it per wire-codes.ts: retries the job on this
   * transport (`subscribe_` again with its cursor), asks for a new token, or rejects.
   */
  error_(id: string, code: string, message: string): void
  /**
   * The connection is gone, never came up, or went silent; the client reconnects (if it ever
   * delivered) or falls back to the next transport. `noRoute`: the server answered that it has
   * no such route (see {@link missingRoute}), so the client's `url` is wrong.
   */
  fail_(noRoute?: boolean): void
}

/** One connection's worth of a transport, carrying any number of jobs. */
export interface Transport {
  /** Start (or restart, e.g. after `token_expired`) watching a job, from after `since` (0 = from the snapshot). */
  subscribe_(id: string, since: number): void
  /** Stop watching a job. */
  unsubscribe_(id: string): void
  /** Free everything. Idempotent. */
  close_(): void
}

/** What a transport gets to work with. */
export interface TransportContext {
  /** The client's options with defaults applied: the platform (fetch, timers, WebSocket, page) comes from here. */
  settings_: Resolved
  sink_: TransportSink
  /** The token for a job, per the `token` option. */
  token_(id: string): Promise<string | undefined>
}

/** Creates one connection of a transport. */
export type TransportFactory = (context: TransportContext) => Transport

/** A refusal the gateway (or something in front of it) gave for a job. */
export interface Refusal {
  code: string
  message: string
}

/**
 * The code and message of a failed response (`{"error":{"code","message"}}`) that asking again
 * later will not cure (wire-codes.ts), for `sink.error_`; `undefined` for a retryable one. Any
 * other body comes from something between the client and the gateway (a proxy, a balancer
 * during a restart, a web server with no gateway behind the `url`): a refusal of the token if
 * 401/403, no such route if 404, else a passing fault (`internal`).
 * @internal
 */
export const readRefusal = async (response: Response): Promise<Refusal | undefined> => {
  const body = (await response.json().catch(() => undefined)) as { error?: Refusal } | undefined
  const status = response.status
  const refusal = body?.error ?? {
    code: status == 403 ? 'forbidden' : status == 401 ? 'unauthorized' : status == 404 ? 'not_found' : 'internal',
    message: '',
  }
  return wireCodeAction(refusal.code) == 'retry' ? undefined : refusal
}

/** Is a refusal the answer to a route the server does not have (wire-codes.ts, `route`)? @internal */
export const missingRoute = (refusal: Refusal | undefined): boolean => !!refusal && wireCodeAction(refusal.code) == 'route'

/** `Authorization` header for a token, if any. @internal */
export const authorization = (token?: string): Record<string, string> => (token ? { authorization: 'Bearer ' + token } : {})

/** The fields of the gateway frames `dispatch` reads (docs/protocol.md, "Transports"). */
type FrameData = JobEvent & { exists: boolean; code: string; message: string }

/**
 * Hands a gateway frame to the sink. WebSocket frame types and SSE event names are the same
 * words (`subscribed`, `error`; a job event is `job` on WebSocket, the default event on SSE).
 * An `error` without a job id (`bad_frame`) concerns no job and is ignored.
 * @internal
 */
export const dispatch = (sink: TransportSink, type: string | undefined, data: FrameData): void => {
  if (type == 'subscribed') sink.exists_(data.id, data.exists)
  else if (type == 'error') {
    if (data.id) sink.error_(data.id, data.code, data.message)
  } else if (type == 'job') sink.event_(data)
}
