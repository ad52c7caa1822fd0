import type { JobEvent } from '../protocol.js'
import type { Resolved, TransportName } from '../options.js'
import { wireCodeAction } from '../wire-codes.js'

/**
 * How a transport reports to the client. The client wraps it per connection, so calls from a
 * transport it already closed are ignored: transports need not guard against that.
 */
export interface TransportSink {
  /** Something arrived: the connection works (first call ends the connect window). */
  alive(): void
  /** A job event. May repeat or arrive out of order across reconnects: the client filters by `seq`. */
  event(job: JobEvent): void
  /** The gateway said whether it knows the job yet. */
  exists(id: string, exists: boolean): void
  /**
   * A per-job error with a wire code (`unauthorized`, `token_expired`, `bus_unavailable`, …;
   * `attempts` from polling). The client acts on it per wire-codes.ts: retries the job on this
   * transport (`add` again with its cursor), asks for a new token, or rejects.
   */
  error(id: string, code: string, message: string): void
  /**
   * The connection is gone, never came up, or went silent; the client reconnects (if it ever
   * delivered) or falls back to the next transport.
   */
  fail(): void
}

/** One connection's worth of a transport, carrying any number of jobs. */
export interface Transport {
  /** Start (or restart, e.g. after `token_expired`) watching a job, from after `since` (0 = from the snapshot). */
  add(id: string, since: number): void
  /** Stop watching a job. */
  remove(id: string): void
  /** Free everything. Idempotent. */
  close(): void
}

/** What a transport gets to work with. */
export interface TransportContext {
  options: Resolved
  sink: TransportSink
  /** The token for a job, per the `token` option. */
  token(id: string): Promise<string | undefined>
}

/** Creates one connection of a transport. */
export type TransportFactory = (ctx: TransportContext) => Transport

/** @internal */
export type Factories = Record<TransportName, TransportFactory>

/**
 * The code and message of a failed response (`{"error":{"code","message"}}`) that asking again
 * later will not cure (wire-codes.ts), for `sink.error`; `undefined` for a retryable one. Any
 * other body comes from something between the client and the gateway (a proxy, a balancer
 * during a restart): a refusal of the token if 401/403, else a passing fault (`internal`).
 * @internal
 */
export const readRefusal = async (res: Response): Promise<{ code: string; message: string } | undefined> => {
  const error = (await res.json().catch(() => 0))?.error ?? {
    code: res.status == 403 ? 'forbidden' : res.status == 401 ? 'unauthorized' : 'internal',
    message: '',
  }
  return wireCodeAction(error.code) == 'retry' ? undefined : error
}

/** `Authorization` header for a token, if any. @internal */
export const auth = (token?: string): Record<string, string> => (token ? { authorization: 'Bearer ' + token } : {})

/**
 * Hands a gateway frame to the sink. WebSocket frame types and SSE event names are the same
 * words (`subscribed`, `error`; a job event is `job` on WebSocket, the default event on SSE).
 * @internal
 */
export const dispatch = (sink: TransportSink, type: string | undefined, d: { id: string; exists: boolean; code: string; message: string } & JobEvent) =>
  type == 'subscribed' ? sink.exists(d.id, d.exists) : type == 'error' ? d.id && sink.error(d.id, d.code, d.message) : type == 'job' && sink.event(d)
