import { backoffDelay } from './backoff.js'
import { GatewayError } from './errors.js'
import type { ConnectionState, Resolved, StateChange, StateReason, TransportName } from './options.js'
import type { JobEvent } from './protocol.js'
import { polling } from './transports/polling.js'
import { sse } from './transports/sse.js'
import type { Transport, TransportSink } from './transports/transport.js'
import { websocket } from './transports/websocket.js'

const transportFactories = { websocket, sse, polling }

/** Reconnects in a row to the transport that last worked before falling back (a gateway restart takes a few). */
const RECONNECTS_BEFORE_FALLBACK = 3

/**
 * Runs through the whole `transports` list, none coming up, before the state is `unavailable`:
 * one run can be a gateway restarting as the page loads.
 */
const FAILED_RUNS_BEFORE_UNAVAILABLE = 2

/** What the connection carries and reports to: the job tracker. */
export interface CarriedJobs {
  /** Every watched job by id, with the seq it resumes after: all of them go on each transport that opens. */
  readonly jobs_: ReadonlyMap<string, { readonly cursor_: number }>
  /** The token for a job, per the `token` option. */
  token_(id: string): Promise<string | undefined>
  /** A job event arrived on `transport`. */
  event_(event: JobEvent, transport: TransportName): void
  /** The gateway said whether it knows a job. */
  exists_(id: string, exists: boolean): void
  /**
   * A wire error about one job. `resubscribe` asks for the job again on the transport that
   * reported it (nothing once that transport is closed).
   */
  error_(id: string, code: string, message: string, resubscribe: (id: string, since: number) => void): void
  /** No transport can carry any job (no gateway at the `url`): every wait ends with `error`. */
  failAll_(error: Error): void
}

/** The one connection of a client: which transport carries the jobs, and its state. */
export interface Connection {
  /** Written by the transition function only. */
  readonly state_: ConnectionState
  /** The transport in use or being tried, if any. Written by the transition function only. */
  readonly transportName_?: TransportName
  /** Listens to state changes; returns a function that stops. */
  listen_(listener: (change: StateChange) => void): () => void
  /** Carries a job just added to `jobs_`: on the open transport, else opens one. */
  subscribe_(id: string): void
  /** Stops carrying a job just removed from `jobs_`; once none is left, goes idle after `linger`. */
  unsubscribe_(id: string): void
  /** Asks the current transport for a job once more, from `since`. */
  askAgain_(id: string, since: number): void
  /** Closes every transport and timer for good (state `closed`). */
  close_(): void
}

/** A transport opened by the connection. */
interface OpenTransport {
  name_: TransportName
  /** Its position in the `transports` option. */
  index_: number
  transport_: Transport
  /** It has delivered something. */
  delivered_?: boolean
  /** Closed by the connection: whatever it reports from now on is ignored. */
  closed_?: boolean
}

/**
 * The connection state machine: opens the first transport of the `transports` option, falls
 * back along it when one fails before delivering, reconnects with backoff to one that worked,
 * probes the best one again while on a fallback, and goes idle once no job is watched.
 */
export const createConnection = (settings: Resolved, carried: CarriedJobs): Connection => {
  const order = settings.transports
  const listeners = new Set<(change: StateChange) => void>()
  /** Where the next connection starts: the transport that last delivered. */
  let preferredIndex = 0
  let current: OpenTransport | undefined
  /** The best transport, tried beside a working fallback; it replaces `current` once it delivers. */
  let probe: OpenTransport | undefined
  let reconnectAttempt = 0
  /** Runs through the whole list in a row in which no transport came up. */
  let failedRuns = 0
  /** A transport of the current run was answered that its route does not exist. */
  let routeMissing: boolean | undefined
  /** The console warning about an unreachable gateway was given (once per client). */
  let warned = false
  let reconnectTimer: unknown
  let lingerTimer: unknown
  let upgradeTimer: unknown

  // The one transition function: every change of state or transport goes through here.
  const transition = (next: ConnectionState, reason: StateReason, nextTransport?: TransportName) => {
    if (next == connection.state_ && nextTransport == connection.transportName_) return
    // `unavailable` lasts through the retries in the background, until one connects.
    if (connection.state_ == 'unavailable' && (next == 'connecting' || next == 'reconnecting')) return
    const change: StateChange = { state: next, previous: connection.state_, transport: nextTransport, reason }
    connection.state_ = next
    connection.transportName_ = nextTransport
    settings.onStateChange?.(change)
    listeners.forEach((listener) => listener(change))
  }

  const closeTransport = (opened: OpenTransport | undefined) => {
    if (!opened) return
    opened.closed_ = true
    opened.transport_.close_()
  }

  const open = (index: number, reason: StateReason, asProbe = false) => {
    // `transport_` is set below: the transport is created with the sink, which needs this record.
    const opened = { name_: order[index]!, index_: index } as OpenTransport
    const delivered = () => {
      if (!opened.delivered_) onDelivered(opened)
    }
    const resubscribe = (id: string, since: number) => {
      if (!opened.closed_) opened.transport_.subscribe_(id, since)
    }
    const sink: TransportSink = {
      alive_() {
        if (!opened.closed_) delivered()
      },
      event_(event) {
        if (opened.closed_) return
        delivered()
        carried.event_(event, opened.name_)
      },
      exists_(id, exists) {
        if (opened.closed_) return
        delivered()
        carried.exists_(id, exists)
      },
      error_(id, code, message) {
        if (!opened.closed_) carried.error_(id, code, message, resubscribe)
      },
      fail_(noRoute) {
        if (!opened.closed_) onFailed(opened, noRoute)
      },
    }
    if (asProbe) probe = opened
    else {
      current = opened
      transition('connecting', reason, opened.name_)
    }
    opened.transport_ = transportFactories[opened.name_]({ settings_: settings, sink_: sink, token_: carried.token_ })
    carried.jobs_.forEach((job, id) => opened.transport_.subscribe_(id, job.cursor_))
  }

  const reconnect = (index: number, reason: StateReason) => {
    transition('reconnecting', reason, order[index])
    reconnectTimer = settings.setTimeout(() => {
      reconnectTimer = undefined
      open(index, reason)
    }, backoffDelay(reconnectAttempt++, settings.reconnect))
  }

  const planUpgrade = () => {
    settings.clearTimeout(upgradeTimer)
    if (preferredIndex > 0)
      upgradeTimer = settings.setTimeout(() => {
        if (current?.delivered_ && !probe) open(0, 'upgrade', true)
      }, settings.upgradeAfter)
  }

  const onDelivered = (opened: OpenTransport) => {
    opened.delivered_ = true
    // A probe can come up while the dropped transport waits to reconnect: that reconnect
    // would open a second connection and orphan this one.
    settings.clearTimeout(reconnectTimer)
    reconnectTimer = undefined
    const upgraded = opened == probe
    if (upgraded) {
      closeTransport(current)
      current = opened
      probe = undefined
    }
    preferredIndex = opened.index_
    reconnectAttempt = failedRuns = 0
    routeMissing = false
    transition('connected', upgraded ? 'upgrade' : 'open', opened.name_)
    planUpgrade()
  }

  const onFailed = (failed: OpenTransport, noRoute?: boolean) => {
    closeTransport(failed)
    if (failed == probe) {
      probe = undefined
      return planUpgrade()
    }
    current = undefined
    if (!carried.jobs_.size) return shut('idle', 'idle')
    // A transport that worked gets a few reconnects (a gateway restart) before the fallback.
    const reconnectsLeft = reconnectAttempt > 0 && reconnectAttempt < RECONNECTS_BEFORE_FALLBACK && failed.index_ == preferredIndex
    if (failed.delivered_ || reconnectsLeft) return reconnect(failed.index_, 'closed')
    routeMissing ||= noRoute
    const nextIndex = (failed.index_ + 1) % order.length
    if (nextIndex) return open(nextIndex, 'fallback')
    // Fell through the whole list. A route that does not exist will not come: no point waiting.
    if (routeMissing) {
      carried.failAll_(new GatewayError(settings.url))
      return shut('idle', 'idle')
    }
    if (++failedRuns == FAILED_RUNS_BEFORE_UNAVAILABLE) {
      transition('unavailable', 'unreachable')
      if (!warned)
        console.warn(`[jobcast] cannot reach ${settings.url} over ${order}: nothing listening, or CORS/origin refused (--cors-origin)`)
      warned = true
    }
    // Start over, but not in a tight loop.
    reconnect(0, 'error')
  }

  const shut = (next: ConnectionState, reason: StateReason) => {
    closeTransport(current)
    closeTransport(probe)
    current = probe = undefined
    for (const timer of [reconnectTimer, lingerTimer, upgradeTimer]) settings.clearTimeout(timer)
    reconnectTimer = undefined
    failedRuns = 0
    routeMissing = false
    transition(next, reason)
  }

  const connection: { -readonly [Field in keyof Connection]: Connection[Field] } = {
    state_: 'idle',
    listen_(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    subscribe_(id) {
      settings.clearTimeout(lingerTimer)
      if (current) {
        current.transport_.subscribe_(id, 0)
        probe?.transport_.subscribe_(id, 0)
      } else if (!reconnectTimer) open(preferredIndex, 'open')
    },
    unsubscribe_(id) {
      current?.transport_.unsubscribe_(id)
      probe?.transport_.unsubscribe_(id)
      if (!carried.jobs_.size) lingerTimer = settings.setTimeout(() => shut('idle', 'idle'), settings.linger)
    },
    askAgain_(id, since) {
      current?.transport_.subscribe_(id, since)
    },
    close_: () => shut('closed', 'closed'),
  }
  return connection
}
