/**
 * Caps the TCP connections of a Node server, per client IP and in total, from the moment a
 * socket is accepted: before it has sent a byte, so idle or slow sockets cannot hold every
 * file descriptor of the process. A socket over a cap is destroyed at once and counted. The
 * address is the TCP peer (no request, so no `X-Forwarded-For`, has arrived yet).
 */
import type { Socket } from 'node:net'
import { clientIp } from './client-ip.js'
import { createConnectionCounter, type ConnectionCounter } from './connection-counter.js'

/** Options of {@link createSocketGuard}. */
export interface SocketGuardOptions {
  /** Most TCP connections from one IP. `0` = unlimited. */
  readonly maxPerIp: number
  /** Most TCP connections in total. `0` = unlimited. */
  readonly maxTotal: number
}

/** Counts a server's sockets and refuses those over a cap. */
export interface SocketGuard {
  /** Open sockets per peer IP, and in total. */
  readonly sockets: ConnectionCounter
  /** Sockets destroyed on arrival because a cap was reached. */
  readonly refused: number
  /** A server `connection` listener: counts the socket until it closes, or destroys it when over a cap. */
  admit(socket: Socket): void
}

/** Creates a {@link SocketGuard}. */
export function createSocketGuard(options: SocketGuardOptions): SocketGuard {
  const sockets = createConnectionCounter({ maxPerIp: options.maxPerIp, maxTotal: options.maxTotal })
  let refused = 0
  return {
    sockets,
    get refused() {
      return refused
    },
    admit(socket) {
      const ip = clientIp(socket.remoteAddress, undefined)
      if (!sockets.tryAcquire(ip)) {
        refused++
        socket.destroy()
        return
      }
      socket.on('close', () => sockets.release(ip))
    },
  }
}
