/** The bounded wait for a gateway's HTTP servers to close during its shutdown. */
import type { Server } from 'node:http'

/** Period of the sweep of idle keep-alive connections while a server closes, ms. */
const IDLE_SWEEP_INTERVAL_MS = 25

/**
 * Closes every server and resolves when all have closed or after `boundMs` ms, whichever
 * comes first; connections still open then are the caller's to cut.
 */
export async function serversClosed(servers: Iterable<Server>, boundMs: number): Promise<void> {
  const closed = Promise.all(
    [...servers].map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve()
          server.close(() => resolve())
          // Streams that just ended leave idle keep-alive connections behind: sweep them
          // until the server is closed, instead of waiting out the shutdown bound.
          const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_INTERVAL_MS)
          sweep.unref()
          server.once('close', () => clearInterval(sweep))
          server.closeIdleConnections()
        }),
    ),
  )
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs)
    timer.unref()
  })
  await Promise.race([closed, bound])
  clearTimeout(timer)
}
