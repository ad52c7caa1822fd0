/**
 * HTTP ingest, `POST /v1/jobs/:id/events`: one event from a producer without Redis access
 * (a serverless function, another network). Authenticated by a producer token (a JWT with a
 * `publish` claim, signed with the producer secret, which browsers never hold), validated by
 * the publish script's rules, published on the gateway's bus. See docs/protocol.md, "HTTP ingest".
 */
import type { Authorizer } from '../auth/authorizer.js'
import type { Bus } from '../bus/bus.js'
import { isJobcastError } from '../errors.js'
import { DEFAULT_MAX_MESSAGE_BYTES, normalizeEventText } from '../event.js'
import { isValidJobId } from '../protocol.js'
import { authStatus, errorResponse, statusForCode } from '../http-error.js'

/** What {@link createIngestHandler} needs. */
export interface IngestDeps {
  /** Where events are published. */
  readonly bus: Pick<Bus, 'publish'>
  /** Checks producer tokens: a JWT authorizer reading the `publish` claim, with the producer secret. */
  readonly authorizer: Authorizer
  /**
   * Largest request body, in bytes: room for a pretty-printed event of the largest size.
   * @default 262144 (four times the default largest event)
   */
  readonly maxBodyBytes?: number
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

/** Reads at most `max` bytes of the body; `undefined` when it is longer. */
async function readBody(request: Request, max: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (declared > max) return undefined
  if (request.body === null) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function bearer(request: Request): string | undefined {
  const header = request.headers.get('authorization') ?? ''
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1]
}

/** The handler of `POST /v1/jobs/:id/events`: 202 published, 409 terminal, or a JSON error. */
export function createIngestHandler(deps: IngestDeps): (request: Request, pathId: string) => Promise<Response> {
  const maxBodyBytes = deps.maxBodyBytes ?? 4 * DEFAULT_MAX_MESSAGE_BYTES
  return async (request, pathId) => {
    if (!isValidJobId(pathId)) return errorResponse(400, 'invalid_job_id', 'invalid_job_id: id must be 1–128 characters of [A-Za-z0-9._:@-]')
    // Producer tokens travel in the header only: never in a URL, where logs would keep them.
    const decision = await deps.authorizer.authorize(pathId, bearer(request))
    if (!decision.ok) return errorResponse(authStatus(decision.code), decision.code, decision.message)
    const text = await readBody(request, maxBodyBytes)
    if (text === undefined) {
      return errorResponse(413, 'invalid_event', `invalid_event: event is larger than ${maxBodyBytes} bytes: keep big payloads elsewhere and send a link`)
    }
    try {
      const outcome = await deps.bus.publish(normalizeEventText(text, pathId))
      return outcome.published
        ? new Response(JSON.stringify({ published: true, seq: outcome.event.seq }), { status: 202, headers: JSON_HEADERS })
        : new Response(JSON.stringify({ published: false, reason: outcome.reason, seq: outcome.current.seq }), { status: 409, headers: JSON_HEADERS })
    } catch (error) {
      if (isJobcastError(error)) return errorResponse(statusForCode(error.code), error.code, error.message)
      throw error
    }
  }
}
