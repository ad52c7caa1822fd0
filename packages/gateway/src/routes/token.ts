/**
 * The per-request token: `Authorization: Bearer <t>` wins over `?token=<t>` (native
 * EventSource cannot set headers, hence the query form).
 */
export function requestToken(req: Request, url: URL = new URL(req.url)): string | undefined {
  const header = req.headers.get('authorization')
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim())
    if (match?.[1]) return match[1].trim()
  }
  const query = url.searchParams.get('token')
  return query === null || query === '' ? undefined : query
}
