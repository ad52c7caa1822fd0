/**
 * Which browser origins may talk to the gateway. One list serves both CORS (fetch,
 * EventSource) and WebSocket upgrades: browsers do not apply CORS to WebSockets, so
 * without the upgrade check any site could open a socket to the gateway from its
 * visitors' browsers (cross-site WebSocket hijacking). Pure: no I/O.
 *
 * Entries (`--cors-origin`, repeatable or comma-separated):
 * - `https://app.example.com` — that exact origin (scheme, host, port; default ports normalised);
 * - `https://*.example.com` — any subdomain of example.com, over that scheme and port
 *   (not example.com itself: list it too if needed);
 * - `*` — any origin. Safe enough because job tokens travel in a header, query or frame,
 *   never in cookies, but it gives up the CSWSH defence in depth.
 *
 * Requests without an `Origin` header are allowed: browsers always send one on WebSocket
 * upgrades and cross-origin requests, so a missing one means a non-browser client (curl,
 * a server), which the token check covers. A page served by the gateway itself (same
 * scheme, host and port as the request; a `Host` without a port means the scheme's default
 * port) is always allowed. `Origin: null` (sandboxed iframes, file://) is allowed only by `*`.
 */
import type { RequestSite } from './request-origin.js'

/** A compiled origin allow-list. */
export interface OriginPolicy {
  /** True when the list is `*`. */
  readonly any: boolean
  /** The entries as configured, normalised. */
  readonly entries: readonly string[]
  /**
   * May a request with this `Origin` header (undefined when absent) proceed?
   * @param site Where the request was sent, to let same-origin pages through (request-origin.ts reads it).
   */
  allows(origin: string | undefined, site?: RequestSite): boolean
}

interface Wildcard {
  readonly protocol: string
  /** `.example.com` */
  readonly suffix: string
  readonly port: string
}

/** Compiles an allow-list; throws a `[jobcast]` error naming a malformed entry. */
export function createOriginPolicy(list: readonly string[]): OriginPolicy {
  const exact = new Set<string>()
  const wildcards: Wildcard[] = []
  let any = false
  const entries: string[] = []
  for (const raw of list.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '')) {
    if (raw === '*') {
      any = true
      entries.push('*')
      continue
    }
    const wildcard = /^(https?):\/\/\*\.([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(raw)
    if (wildcard !== null) {
      const host = (wildcard[2] as string).toLowerCase()
      if (!host.includes('.') && host !== 'localhost') throw badEntry(raw)
      wildcards.push({ protocol: `${wildcard[1] as string}:`, suffix: `.${host}`, port: normalisePort(wildcard[1] as string, wildcard[3]) })
      entries.push(raw.toLowerCase())
      continue
    }
    const origin = parseOrigin(raw)
    if (origin === undefined) throw badEntry(raw)
    exact.add(origin)
    entries.push(origin)
  }

  return Object.freeze({
    any,
    entries: Object.freeze(entries),
    allows(origin: string | undefined, site?: RequestSite): boolean {
      if (origin === undefined) return true
      if (any) return true
      const parsed = safeUrl(origin)
      if (parsed === undefined || parsed.origin === 'null') return false
      if (exact.has(parsed.origin)) return true
      if (site !== undefined && sameSite(parsed, site)) return true
      const port = normalisePort(parsed.protocol.slice(0, -1), parsed.port)
      return wildcards.some(
        (w) => w.protocol === parsed.protocol && w.port === port && parsed.hostname.endsWith(w.suffix) && parsed.hostname.length > w.suffix.length,
      )
    },
  })
}

/**
 * Is the page's origin the one the request was sent to? Scheme, host and port must all match
 * (RFC 6454 §5); a `Host` without a port means the scheme's default one (RFC 9110 §7.2), as
 * in a URL, so a proxy forwarding nginx's `$host` (no port) matches only pages on port 80/443.
 */
function sameSite(origin: URL, site: RequestSite): boolean {
  if (site.host === undefined || origin.protocol !== `${site.scheme}:`) return false
  if (!/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(site.host)) return false
  return safeUrl(`${site.scheme}://${site.host}`)?.host === origin.host
}

function badEntry(raw: string): Error {
  return new Error(
    `[jobcast] --cors-origin "${raw}" is not an origin: use forms like https://app.example.com, https://*.example.com or *`,
  )
}

function safeUrl(text: string): URL | undefined {
  if (text.length > 2048) return undefined
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

/** `scheme://host[:port]` in URL-normalised form, or undefined if `text` is not just an origin. */
function parseOrigin(text: string): string | undefined {
  const url = safeUrl(text.replace(/\/$/, ''))
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return undefined
  return url.origin
}

function normalisePort(scheme: string, port: string | undefined): string {
  if (port === undefined || port === '') return scheme === 'https' ? '443' : '80'
  return port
}
