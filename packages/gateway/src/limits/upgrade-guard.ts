/**
 * The checks a WebSocket upgrade passes before the handshake completes: its `Origin`
 * against the allow-list (cross-site WebSocket hijacking) and its IP against the
 * per-IP connection limit. Refusing here, with a plain HTTP 403/429, costs the gateway
 * no WebSocket state at all. Pure: the caller supplies headers and address.
 */
import type { ConnectionCounter } from './connection-counter.js'
import type { OriginPolicy } from './origin-policy.js'
import type { RequestOrigin } from './request-origin.js'

/** What the guard needs to know about an upgrade request. */
export interface UpgradeRequestInfo extends RequestOrigin {
  /** The address per-IP limits count (`clientIpOf` in client-ip.ts). */
  readonly ip: string
}

/** The guard's answer: proceed (and call `release` once when the socket closes) or refuse with an HTTP error. */
export type UpgradeDecision =
  | { readonly ok: true; readonly ip: string; readonly release: () => void }
  | { readonly ok: false; readonly status: 403 | 429; readonly code: 'forbidden' | 'too_many_connections'; readonly message: string }

/** Options of {@link createUpgradeGuard}. */
export interface UpgradeGuardOptions {
  readonly origins: OriginPolicy
  readonly connections: ConnectionCounter
}

/** Creates the upgrade check. */
export function createUpgradeGuard(options: UpgradeGuardOptions): (request: UpgradeRequestInfo) => UpgradeDecision {
  return (request) => {
    if (!options.origins.allows(request.origin, request))
      return {
        ok: false,
        status: 403,
        code: 'forbidden',
        message: `[jobcast] WebSocket origin ${JSON.stringify(request.origin?.slice(0, 200))} is not allowed: add it with --cors-origin`,
      }
    const ip = request.ip
    if (!options.connections.tryAcquire(ip))
      return {
        ok: false,
        status: 429,
        code: 'too_many_connections',
        message: '[jobcast] too many connections from this address: close idle sockets (one socket carries many jobs) or raise --max-connections-per-ip',
      }
    let released = false
    return {
      ok: true,
      ip,
      release: () => {
        if (released) return
        released = true
        options.connections.release(ip)
      },
    }
  }
}
