/**
 * The per-request token: `Authorization: Bearer <t>` wins over `?token=<t>` (native
 * EventSource cannot set headers, hence the query form). A URL without `token=` is not
 * parsed at all: polling asks this once per request.
 */
export function requestToken(req: Request, url?: URL): string | undefined {
  const header = req.headers.get('authorization')
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim())
    if (match?.[1]) return match[1].trim()
  }
  if (url === undefined) {
    if (!req.url.includes('token=')) return undefined
    url = new URL(req.url)
  }
  const query = url.searchParams.get('token')
  return query === null || query === '' ? undefined : query
}
