/**
 * What the origin allow-list reads from a request: its `Origin`, its `Host` and the scheme the
 * client used. The one reader for CORS, SSE streams and WebSocket upgrades, so the same-host
 * rule cannot differ between them.
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { nodeHeader } from '../node-bindings.js'
import { clientIpOf } from './client-ip.js'

/** Where a request was sent: its `Host` header and scheme. */
export interface RequestSite {
  /** The `Host` header (undefined when absent). */
  readonly host: string | undefined
  /** The scheme the client used to reach the gateway (or its trusted proxy). */
  readonly scheme: 'http' | 'https'
}

/** A request's `Origin` and where it was sent. */
export interface RequestOrigin extends RequestSite {
  /** The `Origin` header (undefined when absent: not a browser, or a same-origin GET). */
  readonly origin: string | undefined
}

/** Reads one request header (lower-case name). */
export type HeaderReader = (name: 'origin' | 'host' | 'x-forwarded-proto') => string | undefined

/**
 * The origin facts of a request, from any header source.
 * @param encrypted Whether the connection to the gateway is TLS.
 * @param trustProxyHops Reverse proxies trusted (see client-ip.ts): then `X-Forwarded-Proto`
 *   says the scheme, since a proxy that terminates TLS talks plain HTTP to the gateway.
 */
export function readRequestOrigin(header: HeaderReader, encrypted: boolean, trustProxyHops: number): RequestOrigin {
  const origin = header('origin')
  // Without an Origin there is nothing to compare: skip the other headers.
  if (origin === undefined) return { origin, host: undefined, scheme: encrypted ? 'https' : 'http' }
  let scheme: 'http' | 'https' = encrypted ? 'https' : 'http'
  if (trustProxyHops > 0) {
    // The entry the nearest proxy wrote (some append instead of replacing).
    const forwarded = header('x-forwarded-proto')?.split(',').pop()?.trim().toLowerCase()
    if (forwarded === 'http' || forwarded === 'https') scheme = forwarded
  }
  return { origin, host: header('host'), scheme }
}

/** {@link readRequestOrigin} for a Node request. */
export function requestOriginOf(req: IncomingMessage, trustProxyHops: number): RequestOrigin {
  return readRequestOrigin((name) => nodeHeader(req, name), (req.socket as Partial<TLSSocket>).encrypted === true, trustProxyHops)
}

/** What admission reads from a Node request: the client IP and the origin facts, in one place. */
export function nodeRequestFacts(req: IncomingMessage, trustProxyHops: number): RequestOrigin & { readonly ip: string } {
  return { ip: clientIpOf(req, trustProxyHops), ...requestOriginOf(req, trustProxyHops) }
}
