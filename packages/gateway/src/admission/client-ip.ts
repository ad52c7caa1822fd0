/**
 * The client address that per-IP limits count. By default the TCP peer address: the
 * `X-Forwarded-For` header is trivially forged, so trusting it without a proxy in front
 * would let anyone bypass every per-IP limit by sending a different value each time.
 * Behind a reverse proxy, set `trustProxyHops` to the number of proxies you run; the
 * address is then taken that many entries from the right of `X-Forwarded-For` (the
 * entries your own proxies appended), never from the client-controlled left end. An entry
 * counts only when it is an IP address (a port a proxy appended is stripped): anything else
 * would give each made-up value a fresh bucket, so the TCP peer is counted instead.
 */
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { nodeHeader } from '../node-bindings.js'

/**
 * The address per-IP limits count for a Node request: the one place the gateway reads it
 * (polling, SSE streams, WebSocket upgrades).
 * @param trustProxyHops See {@link clientIp}.
 */
export function clientIpOf(req: IncomingMessage, trustProxyHops: number): string {
  const forwardedFor = trustProxyHops > 0 ? nodeHeader(req, 'x-forwarded-for') : undefined
  return clientIp(req.socket.remoteAddress, forwardedFor, trustProxyHops)
}

/**
 * Picks the address per-IP limits should count.
 * @param remoteAddress The socket's peer address (undefined if the socket is gone).
 * @param forwardedFor The `X-Forwarded-For` header, if any.
 * @param trustProxyHops How many reverse proxies in front of the gateway append to `X-Forwarded-For`. `0` ignores the header.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, trustProxyHops = 0): string {
  const peer = normalise(remoteAddress ?? 'unknown')
  if (trustProxyHops <= 0 || forwardedFor === undefined) return peer
  const hops = forwardedFor
    .slice(0, 4096)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
  // The peer is the last proxy; the entry it appended (rightmost) is the one before it, and so on.
  const pick = hops[hops.length - trustProxyHops]
  const address = pick === undefined ? undefined : forwardedAddress(pick)
  return address === undefined ? peer : normalise(address)
}

/**
 * The IP address of one `X-Forwarded-For` entry, without the port some proxies append
 * (`203.0.113.7:40000`, `[2001:db8::1]:443`), or undefined when it is not an address.
 */
export function forwardedAddress(entry: string): string | undefined {
  if (entry.length > 64) return undefined
  const withPort = /^\[(.+)\](?::(\d{1,5}))?$/.exec(entry) ?? /^([\d.]+):(\d{1,5})$/.exec(entry)
  const address = withPort === null ? entry : (withPort[1] as string)
  const port = withPort?.[2]
  if (port !== undefined && Number(port) > 65_535) return undefined
  // A bracketed entry must hold an IPv6 address; a bare one may be either family.
  const family = isIP(address)
  return family === 0 || (entry.startsWith('[') && family !== 6) ? undefined : address
}

/**
 * The key a client is counted under. `::ffff:1.2.3.4` and `1.2.3.4` are one client. An IPv6
 * address counts as its /64 network: one subscriber line usually gets a /64 (RFC 6177), so
 * counting single addresses would let one client take 2^64 fresh "IPs" and bypass every
 * per-IP limit.
 */
function normalise(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7)
  if (!address.includes(':')) return address
  const prefix = ipv6Prefix64(address)
  return prefix === undefined ? address : `${prefix}::/64`
}

/** The first four hextets of an IPv6 address (lower case, no leading zeros), or undefined if it is not one. */
export function ipv6Prefix64(address: string): string | undefined {
  const text = address.replace(/%.*$/, '').toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(text) || text.length > 45) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parts = (half: string | undefined): string[] => (half === undefined || half === '' ? [] : half.split(':'))
  const head = parts(halves[0])
  const tail = parts(halves[1])
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) stands for two hextets.
  const width = (list: string[]): number => list.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0)
  const missing = 8 - width(head) - width(tail)
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail]
  const first = all.slice(0, 4)
  if (first.some((h) => !/^[0-9a-f]{1,4}$/.test(h))) return undefined
  return first.map((h) => h.replace(/^0+(?=.)/, '')).join(':')
}
