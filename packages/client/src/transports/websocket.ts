import type { WebSocketLike } from '../options.js'
import type { ClientFrame } from '../protocol.js'
import { dispatch, type TransportFactory } from './transport.js'

/**
 * One WebSocket to `/v1/ws` carrying every watched job (subscribe/unsubscribe frames, a token
 * per frame). Pings with `{"type":"ping"}` because browsers hide protocol-level pings, and
 * declares the socket dead after `heartbeatTimeout` of silence.
 */
export const websocket: TransportFactory = ({ settings_: settings, sink_: sink, token_: token }) => {
  /** Watched jobs and the seq each resumes after. */
  const cursors = new Map<string, number>()
  let socket: WebSocketLike | undefined
  let open = false
  /** The handshake was answered 404: no such route at the `url`. */
  let noRoute = false
  let lastFrameAt = 0
  let silenceTimer: unknown

  const send = (frame: ClientFrame) => {
    if (open) socket!.send(JSON.stringify(frame))
  }
  // Called once the socket is open, so the token function runs once per job and connection.
  const subscribe = async (id: string) => {
    const jobToken = await token(id)
    if (cursors.has(id)) send({ type: 'subscribe', id, since: cursors.get(id), token: jobToken })
  }
  // The first check comes after connectTimeout: a socket that has not delivered by then failed.
  const checkSilence = (delay: number) => {
    silenceTimer = settings.setTimeout(() => {
      if (Date.now() - lastFrameAt > (lastFrameAt ? settings.heartbeatTimeout : 0)) return sink.fail_()
      send({ type: 'ping' })
      checkSilence(settings.heartbeatTimeout / 3)
    }, delay)
  }

  try {
    socket = new settings.WebSocket!(settings.url.replace(/^http/, 'ws') + '/v1/ws')
    // The contract says text frames; binary ones are decoded too rather than lost.
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      open = true
      cursors.forEach((_, id) => subscribe(id))
    }
    socket.onmessage = (message: MessageEvent) => {
      lastFrameAt = Date.now()
      let frame
      try {
        frame = JSON.parse(typeof message.data == 'string' ? message.data : new TextDecoder().decode(message.data))
      } catch {
        return
      }
      sink.alive_()
      dispatch(sink, frame.type, frame.type == 'job' ? frame.job : frame)
    }
    // A close code of 1008 (origin/limits) or 1012 (restart) is handled alike: the client
    // reconnects if this socket ever delivered, else falls back.
    socket.onclose = () => sink.fail_(noRoute)
    // Browsers hide why a handshake failed; `ws` (Node) names the status in the error message,
    // so a 404 there tells a wrong `url` apart as the HTTP transports do.
    socket.onerror = (event?: { message?: string }) => (noRoute = / 404$/.test(event?.message!))
  } catch {
    // No WebSocket on this platform, or a URL it refuses: fail after this call returns, as a
    // refused connection would.
    queueMicrotask(sink.fail_)
  }
  checkSilence(settings.connectTimeout)

  return {
    subscribe_(id, since) {
      cursors.set(id, since)
      if (open) subscribe(id)
    },
    unsubscribe_(id) {
      if (cursors.delete(id)) send({ type: 'unsubscribe', id })
    },
    // Events after this reach a sink the client has already cut off.
    close_() {
      settings.clearTimeout(silenceTimer)
      socket?.close()
    },
  }
}
