import type { WebSocketLike } from '../options.js'
import type { ClientFrame } from '../protocol.js'
import { dispatch, type TransportFactory } from './transport.js'

/**
 * One WebSocket to `/v1/ws` carrying every watched job (subscribe/unsubscribe frames, a token
 * per frame). Pings with `{"type":"ping"}` because browsers hide protocol-level pings, and
 * declares the socket dead after `heartbeatTimeout` of silence.
 */
export const websocket: TransportFactory = ({ options: o, sink, token }) => {
  const ids = new Map<string, number>()
  let ws: WebSocketLike | undefined
  let up = false
  let last = 0
  let timer: unknown
  const send = (f: ClientFrame) => up && ws!.send(JSON.stringify(f))
  // Called once the socket is open, so the token function runs once per job and connection.
  const sub = (id: string) =>
    token(id).then((t) => ids.has(id) && send({ type: 'subscribe', id, since: ids.get(id), token: t }))
  const watch = (ms: number) => {
    timer = o.setTimeout(() => {
      if (Date.now() - last > (last ? o.heartbeatTimeout : 0)) return sink.fail()
      send({ type: 'ping' })
      watch(o.heartbeatTimeout / 3)
    }, ms)
  }
  try {
    ws = new o.WebSocket!(o.url.replace(/^http/, 'ws') + '/v1/ws')
    // The contract says text frames; binary ones are decoded too rather than lost.
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => {
      up = true
      ids.forEach((_, id) => sub(id))
    }
    ws.onmessage = (e: MessageEvent) => {
      last = Date.now()
      let f
      try {
        f = JSON.parse(typeof e.data == 'string' ? e.data : new TextDecoder().decode(e.data))
      } catch {
        return
      }
      sink.alive()
      dispatch(sink, f.type, f.type == 'job' ? f.job : f)
    }
    // A close code of 1008 (origin/limits) or 1012 (restart) is handled alike: the client
    // reconnects if this socket ever delivered, else falls back.
    ws.onclose = sink.fail
    ws.onerror = () => {}
  } catch {
    queueMicrotask(sink.fail)
  }
  watch(o.connectTimeout)
  return {
    add(id, since) {
      ids.set(id, since)
      up && sub(id)
    },
    remove(id) {
      ids.delete(id) && send({ type: 'unsubscribe', id })
    },
    // Events after this reach a sink the client has already cut off.
    close() {
      o.clearTimeout(timer)
      ws?.close()
    },
  }
}
