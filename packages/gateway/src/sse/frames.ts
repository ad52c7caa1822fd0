/**
 * Server-Sent Events framing and the resume cursors (pure; see docs/protocol.md).
 *
 * Single-job streams use `id: <seq>`. Multi-job streams use a comma-separated cursor with
 * one entry per requested job, in query order, `0` meaning "nothing delivered yet".
 */

/** The first bytes of every stream: a comment that pushes headers past buffering proxies. */
export const SSE_OPEN = ': ok\n\n'

/** Heartbeat comment. */
export const SSE_PING = ': ping\n\n'

/** `retry:` field telling EventSource how long to wait before reconnecting. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`
}

/**
 * A named event whose data is one line of JSON. Job ids and codes cannot contain line
 * breaks and `JSON.stringify` escapes them, so one `data:` line is always enough.
 */
export function sseNamed(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`
}

/** The `data:` line of a job event (shared by all streams carrying it). */
export function sseData(json: string): string {
  return `data: ${json}\n\n`
}

/** A default `message` event with an id: `id: <id>\ndata: <json>\n\n`. */
export function sseMessage(id: string, json: string): string {
  return `id: ${id}\n${sseData(json)}`
}

/** A seq as it appears in a cursor. Seqs are integers up to ~2^53: print them without exponent. */
export function formatSeq(seq: number): string {
  return seq.toFixed(0)
}

/**
 * Parse a single-job Last-Event-ID. Absent or empty → 0 (deliver everything);
 * anything that is not a non-negative integer → `null` (the caller answers 400 bad_cursor).
 */
export function parseSeqCursor(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined || raw.trim() === '') return 0
  const text = raw.trim()
  if (!/^\d{1,17}$/.test(text)) return null
  return Number(text)
}

/**
 * Parse a multi-job cursor for `count` jobs. Absent or empty → all zeros. Wrong number of
 * entries or a non-integer entry → `null` (400 bad_cursor).
 */
export function parseCursor(raw: string | null | undefined, count: number): number[] | null {
  if (raw === null || raw === undefined || raw.trim() === '') return new Array<number>(count).fill(0)
  const parts = raw.trim().split(',')
  if (parts.length !== count) return null
  const seqs: number[] = []
  for (const part of parts) {
    const seq = parseSeqCursor(part)
    if (seq === null || part.trim() === '') return null
    seqs.push(seq)
  }
  return seqs
}
