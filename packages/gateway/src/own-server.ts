/**
 * The HTTP server `Gateway.listen()` creates: bounded time to send a request, and the
 * contract's JSON body on requests Node's parser rejects. A server handed to `attach()` keeps
 * its owner's settings.
 */
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { answerClientError } from './client-error.js'

/**
 * A server whose connections must deliver a complete request within `requestTimeoutMs` (a
 * socket that sends nothing is closed then too). `0` keeps Node's defaults.
 */
export function createOwnServer(requestTimeoutMs: number): Server {
  const server = createServer(
    requestTimeoutMs <= 0
      ? {}
      : {
          // One bound for the headers and the whole request: every request the gateway serves is a GET or a small POST.
          headersTimeout: requestTimeoutMs,
          requestTimeout: requestTimeoutMs,
          // Node checks every 30 s by default, which would let a slow request live up to 30 s past the bound.
          connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs),
          // Idle time between keep-alive requests (Node's default, stated so it stays bounded).
          keepAliveTimeout: 5_000,
        },
  )
  if (requestTimeoutMs > 0) server.on('connection', closeIfSilent(requestTimeoutMs))
  server.on('clientError', answerClientError)
  return server
}

/**
 * A `connection` listener closing a socket that has sent no byte within `timeoutMs`. Node's
 * `headersTimeout` starts only with a request's first byte, so without it a silent socket
 * would hold its file descriptor until the peer leaves.
 */
function closeIfSilent(timeoutMs: number): (socket: Socket) => void {
  return (socket) => {
    // A timer, not socket.setTimeout(): that one belongs to the HTTP server (keep-alive, server.timeout).
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy()
    }, timeoutMs)
    timer.unref()
  }
}
