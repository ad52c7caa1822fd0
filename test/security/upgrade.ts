/**
 * WebSocket upgrade attempts for the security suites: whether the gateway accepts (101) or
 * refuses (its HTTP status) a handshake with given headers or source address.
 */
import WebSocket, { type ClientOptions } from 'ws'

/** Attempts an upgrade: resolves with 101 and the open socket (the caller closes it), or the refusal's HTTP status. */
export function tryUpgrade(url: string, options: ClientOptions = {}): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options)
    ws.on('open', () => resolve({ status: 101, ws }))
    ws.on('unexpected-response', (_request, res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0 })
    })
    ws.on('error', () => resolve({ status: -1 }))
  })
}

/** The status of an upgrade attempt with these headers (101: accepted, and closed at once). */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const { status, ws } = await tryUpgrade(url, { headers })
  ws?.close()
  return status
}
