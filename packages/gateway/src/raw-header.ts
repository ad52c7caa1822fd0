/**
 * A request header read from Node's `rawHeaders` list. Reading `req.headers` instead builds a
 * header object that the request then keeps for its whole life: ~100 B per idle SSE stream,
 * for two or three headers read once.
 */

/**
 * The value of header `name` (lower case), as Node's `req.headers` would give it: several
 * values joined with `, `, or only the first when `firstOnly` (Node does so for `host`,
 * `authorization` and other single-valued headers).
 */
export function rawHeader(rawHeaders: readonly string[], name: string, firstOnly = false): string | undefined {
  let value: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i] as string
    if (key.length !== name.length || key.toLowerCase() !== name) continue
    const v = rawHeaders[i + 1] as string
    if (firstOnly) return v
    value = value === undefined ? v : `${value}, ${v}`
  }
  return value
}
