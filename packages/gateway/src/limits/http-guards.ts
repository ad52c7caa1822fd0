/**
 * hono middleware enforcing the per-IP limits on the HTTP routes: a token bucket on the
 * polling route (`429 rate_limited` + `Retry-After`) and a cap on open SSE streams
 * (`429 too_many_connections`). The address comes from the Node socket behind the request
 * (`@hono/node-server` bindings); when the app runs without them (`app.request()` in unit
 * tests, another runtime) there is no trustworthy address and the guard lets it through.
 */
import type { ServerResponse } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { nodeBindings as bindings } from '../node-bindings.js'
import { errorResponse } from '../routes/http-error.js'
import { clientIpOf } from './client-ip.js'
import type { ConnectionCounter } from './connection-counter.js'
import type { RateLimiter } from './rate-limiter.js'

/** The address per-IP limits count for this request, or undefined outside Node. */
export function requestIp(c: Context, trustProxyHops: number): string | undefined {
  const incoming = bindings(c).incoming
  return incoming === undefined ? undefined : clientIpOf(incoming, trustProxyHops)
}

function tooMany(code: 'rate_limited' | 'too_many_connections', message: string, retryAfterSec: number): Response {
  return errorResponse(429, code, message, { 'retry-after': String(retryAfterSec) })
}

/** How {@link rateLimitMiddleware} words its refusal and prices a request. */
export interface RateLimitRoute {
  /** What is limited and what to do instead, e.g. `status requests … poll less often`; `{s}` becomes the wait. */
  readonly advice: string
  /** Tokens a request costs. @default 1 */
  readonly cost?: (c: Context) => number
}

const POLLING: RateLimitRoute = {
  advice: 'too many status requests from this address: wait {s} s (Retry-After), poll less often, or use SSE/WebSocket; the limit is --poll-rate',
}

/** Rate-limits a route per client IP (`429 rate_limited` + `Retry-After`). */
export function rateLimitMiddleware(limiter: RateLimiter, trustProxyHops = 0, route: RateLimitRoute = POLLING): MiddlewareHandler {
  return async (c, next) => {
    const ip = requestIp(c, trustProxyHops)
    if (ip !== undefined) {
      const decision = limiter.take(ip, route.cost?.(c) ?? 1)
      if (!decision.ok) return tooMany('rate_limited', rateLimitMessage(route, decision.retryAfterSec), decision.retryAfterSec)
    }
    await next()
  }
}

/** Where a Node response keeps the address whose slot it holds, for the counter's close listener. */
const SLOT_IP = Symbol('jobcast.slotIp')

type HeldResponse = ServerResponse & { [SLOT_IP]?: string }

/**
 * One `close` listener per counter, shared by every response it limits: the response itself
 * carries the address (a string it holds anyway), so an idle stream holds no closure or
 * object for its slot.
 */
const releasers = new WeakMap<ConnectionCounter, (this: HeldResponse) => void>()

function releaserOf(counter: ConnectionCounter): (this: HeldResponse) => void {
  let release = releasers.get(counter)
  if (release === undefined) {
    release = function (this: HeldResponse): void {
      const ip = this[SLOT_IP]
      if (ip === undefined) return
      this[SLOT_IP] = undefined
      counter.release(ip)
    }
    releasers.set(counter, release)
  }
  return release
}

/**
 * Gives a slot taken with `counter.tryAcquire(ip)` back when `outgoing` closes (at once if it
 * already has). Returns the hold, to release early on an error.
 */
export function holdUntilClosed(counter: ConnectionCounter, ip: string, outgoing: ServerResponse): { release(): void } {
  const res = outgoing as HeldResponse
  res[SLOT_IP] = ip
  const release = releaserOf(counter)
  // `on`, not `once`: 'close' fires once, and `once` adds a wrapper object per stream.
  res.on('close', release)
  if (res.destroyed) release.call(res)
  return { release: () => release.call(res) }
}

/** The refusal message for an address over its cap of simultaneous streams (`flag` raises it). */
export function tooManyStreamsMessage(flag: string): string {
  return `[jobcast] too many event streams from this address: close some, use one /v1/events stream for many jobs, or raise ${flag}`
}

/** The refusal message of {@link rateLimitMiddleware} for a wait of `seconds`. */
export function rateLimitMessage(route: RateLimitRoute, seconds: number): string {
  return `[jobcast] ${route.advice.replace('{s}', String(seconds))}`
}

/**
 * Caps simultaneous responses per client IP (for SSE streams). The slot is taken before
 * the route runs and given back when the Node response closes — stream ended by the
 * server, by the client, or a plain error response — so it cannot leak.
 */
export function connectionLimitMiddleware(counter: ConnectionCounter, trustProxyHops = 0, flag = '--max-sse-per-ip'): MiddlewareHandler {
  return async (c, next) => {
    const ip = requestIp(c, trustProxyHops)
    const outgoing = bindings(c).outgoing
    if (ip === undefined || outgoing === undefined) return next()
    if (!counter.tryAcquire(ip))
      return tooMany('too_many_connections', tooManyStreamsMessage(flag), 1)
    const hold = holdUntilClosed(counter, ip, outgoing)
    try {
      await next()
    } catch (error) {
      hold.release()
      throw error
    }
  }
}
