/**
 * The per-request token: `Authorization: Bearer <t>` wins over `?token=<t>` (native
 * EventSource cannot set headers, hence the query form). A URL without `token=` is not
 * parsed at all: polling asks this once per request.
 */
export function requestToken(req: Request, url?: URL): string | undefined {
  const fromHeader = bearerToken(req.headers.get('authorization'))
  if (fromHeader !== undefined) return fromHeader
  if (url === undefined) {
    if (!req.url.includes('token=')) return undefined
    url = new URL(req.url)
  }
  return queryToken(url.searchParams)
}

/** The token of an `Authorization: Bearer <t>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(header.trim())
  return match?.[1] ? match[1].trim() : undefined
}

/** The `?token=` parameter, or undefined when absent or empty. */
export function queryToken(params: URLSearchParams): string | undefined {
  const query = params.get('token')
  return query === null || query === '' ? undefined : query
}
