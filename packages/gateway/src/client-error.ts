/**
 * Requests Node's HTTP parser rejects (garbage, oversized headers, a request that times out)
 * never reach the app, and Node answers them with an empty body. The contract says every
 * error is `{"error":{"code","message"}}`, so the gateway's own server answers them here.
 */
import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { endSocketWithError } from './http-error.js'

/** Status and message for a parser error code (as Node's own default handler picks them). */
function describe(code: string | undefined): { status: number; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: 'request headers too large: send a short token (Authorization or ?token=) and fewer headers' }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'request not received in time: send it again' }
  return { status: 400, message: 'malformed HTTP request: see docs/protocol.md' }
}

/** A `clientError` listener for the gateway's own HTTP server. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A response already under way (the parser failed on a pipelined request) cannot get another.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy()
    return
  }
  const { status, message } = describe(error.code)
  endSocketWithError(socket, status, 'bad_request', message)
}
