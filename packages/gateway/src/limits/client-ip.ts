/**
 * The client address that per-IP limits count. By default the TCP peer address: the
 * `X-Forwarded-For` header is trivially forged, so trusting it without a proxy in front
 * would let anyone bypass every per-IP limit by sending a different value each time.
 * Behind a reverse proxy, set `trustProxyHops` to the number of proxies you run; the
 * address is then taken that many entries from the right of `X-Forwarded-For` (the
 * entries your own proxies appended), never from the client-controlled left end. Pure.
 */

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
  return pick === undefined || pick.length > 64 ? peer : normalise(pick)
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address
}
