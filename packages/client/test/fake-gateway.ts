/**
 * A scripted fake gateway for the client's transport contract suite: real HTTP, WebSocket and
 * SSE on a loopback port, speaking the wire protocol of docs/protocol.md ("Transports"), with
 * the job store and the faults under the test's control. It keeps every job's history so a test
 * can make it replay events the client already has (`ignoreCursor`).
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import type { JobEvent } from '../src/protocol.js'
import type { TransportName } from '../src/index.js'

/** HTTP status of each wire code the fake answers with (docs/protocol.md, "Errors"). */
const STATUS: Record<string, number> = {
  unauthorized: 401,
  token_expired: 401,
  forbidden: 403,
  job_not_found: 404,
  not_found: 404,
  rate_limited: 429,
  internal: 500,
  bus_unavailable: 503,
}

const isTerminal = (event: JobEvent) => /^(completed|failed|cancelled)$/.test(event.status)

/** One ask for a job: a `subscribe` frame, one id of an SSE stream open, or one poll. */
export interface Ask {
  transport: TransportName
  id: string
  /** The cursor the client sent: `since`, its entry of `Last-Event-ID`, or the `If-None-Match` seq. */
  since: number
  token: string | undefined
}

/** A job watched on an open push connection (WebSocket subscription or SSE stream entry). */
interface LiveSubscription {
  id: string
  token: string | undefined
  push(event: JobEvent): void
  /** Ends the subscription with a wire error (a token that stopped being valid). */
  refuse(code: string): void
}

export interface FakeGateway {
  /** Base URL for the client's `url` option. */
  url: string
  /** Every ask, in order. */
  asks: Ask[]
  /** Decides whether a token may watch a job: a wire code refuses it. @default accepts everything */
  authorize: (id: string, token: string | undefined) => string | undefined
  /** Replay a job's whole history on every subscribe and ignore `If-None-Match`, as a faulty gateway would. */
  ignoreCursor: boolean
  /** Answer unknown routes (WebSocket upgrades included) as a plain web server would: 404 with an HTML page. */
  plainNotFound: boolean
  /** Stores an event as the job's latest and pushes it to live subscriptions. */
  publish(event: JobEvent): void
  /** Forgets a job, as Redis restarted without its data: later asks find it unknown. */
  forget(id: string): void
  /** Refuses the next `times` asks for `id` with `code`. */
  refuseNext(id: string, code: string, times?: number): void
  /** Checks every live subscription's token again with `authorize`, ending refused ones with their code. */
  revalidate(): void
  /** Drops every connection: WebSockets terminated, SSE streams cut, the next poll's socket destroyed. */
  drop(): void
  /** Open WebSockets and SSE streams. */
  readonly openConnections: number
  close(): Promise<void>
}

const bearer = (request: IncomingMessage) => request.headers.authorization?.replace(/^Bearer /, '')

/** Starts a fake gateway on `port` of the loopback interface. @param port - @default 0 (a free one) */
export async function startFakeGateway(port = 0): Promise<FakeGateway> {
  const histories = new Map<string, JobEvent[]>()
  const queuedRefusals = new Map<string, string[]>()
  const live = new Set<LiveSubscription>()
  const streams = new Set<ServerResponse>()
  let dropNextPoll = false

  const refusalFor = (id: string, token: string | undefined) => queuedRefusals.get(id)?.shift() ?? gateway.authorize(id, token)
  /** What a new subscription from `since` gets: the snapshot if newer, or everything when replaying. */
  const backlog = (id: string, since: number) => {
    const history = histories.get(id) ?? []
    return gateway.ignoreCursor ? history : history.slice(-1).filter((event) => event.seq > since)
  }
  const answerError = (response: ServerResponse, code: string) =>
    code == 'not_found' && gateway.plainNotFound
      ? response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')
      : response
      .writeHead(STATUS[code] ?? 400, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { code, message: `[jobcast] ${code} (fake gateway)` } }))

  const server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://fake')
    const jobPath = /^\/v1\/jobs\/([^/]+)$/.exec(url.pathname)
    if (jobPath) return servePoll(request, response, decodeURIComponent(jobPath[1]!))
    if (url.pathname == '/v1/events') return serveStream(request, response, url.searchParams.getAll('id'))
    answerError(response, 'not_found')
  })

  const servePoll = (request: IncomingMessage, response: ServerResponse, id: string) => {
    const token = bearer(request)
    const etag = request.headers['if-none-match']
    gateway.asks.push({ transport: 'polling', id, since: Number(etag?.replace(/"/g, '') ?? 0), token })
    if (dropNextPoll) {
      dropNextPoll = false
      return request.socket.destroy()
    }
    const refusal = refusalFor(id, token)
    if (refusal) return answerError(response, refusal)
    const latest = histories.get(id)?.at(-1)
    if (!latest) return answerError(response, 'job_not_found')
    if (!gateway.ignoreCursor && etag == `"${latest.seq}"`) return response.writeHead(304, { etag }).end()
    response.writeHead(200, { 'content-type': 'application/json', etag: `"${latest.seq}"` }).end(JSON.stringify(latest))
  }

  const serveStream = (request: IncomingMessage, response: ServerResponse, ids: string[]) => {
    const token = bearer(request)
    const lastEventId = request.headers['last-event-id'] as string | undefined
    const cursors = new Map(ids.map((id, index) => [id, Number(lastEventId?.split(',')[index] ?? 0)]))
    cursors.forEach((since, id) => gateway.asks.push({ transport: 'sse', id, since, token }))
    for (const id of ids) {
      const refusal = refusalFor(id, token)
      if (refusal) return answerError(response, refusal)
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    response.write(': ok\n\nretry: 2000\n\n')
    streams.add(response)
    const unfinished = new Set(ids)
    const subscriptions: LiveSubscription[] = []
    const end = () => {
      subscriptions.forEach((subscription) => live.delete(subscription))
      response.end()
    }
    response.on('close', () => {
      streams.delete(response)
      subscriptions.forEach((subscription) => live.delete(subscription))
    })
    for (const id of ids) {
      const subscription: LiveSubscription = {
        id,
        token,
        push(event) {
          if (response.writableEnded) return
          cursors.set(id, event.seq)
          // The multi-job cursor: every job's last delivered seq, in query order.
          response.write(`id: ${[...cursors.values()].join()}\ndata: ${JSON.stringify(event)}\n\n`)
          if (!isTerminal(event)) return
          live.delete(subscription)
          unfinished.delete(id)
          if (!unfinished.size) end()
        },
        refuse(code) {
          if (response.writableEnded) return
          response.write(`event: error\ndata: ${JSON.stringify({ code, message: `[jobcast] ${code} (fake gateway)`, id })}\n\n`)
          end()
        },
      }
      subscriptions.push(subscription)
      live.add(subscription)
      response.write(`event: subscribed\ndata: ${JSON.stringify({ id, exists: histories.has(id) })}\n\n`)
    }
    for (const subscription of subscriptions) backlog(subscription.id, cursors.get(subscription.id)!).forEach((event) => subscription.push(event))
  }

  const sockets = new WebSocketServer({ noServer: true })
  server.on('upgrade', (request, socket, head) => {
    // Another path gets a 404 as the gateway answers it (or a plain web server's page).
    if (request.url != '/v1/ws') {
      const body = gateway.plainNotFound ? '<h1>Not Found</h1>' : JSON.stringify({ error: { code: 'not_found', message: '[jobcast] no WebSocket endpoint (fake gateway)' } })
      return socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: ${gateway.plainNotFound ? 'text/html' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    sockets.handleUpgrade(request, socket, head, (webSocket) => sockets.emit('connection', webSocket, request))
  })
  sockets.on('connection', (webSocket) => {
    const subscriptions = new Map<string, LiveSubscription>()
    const send = (frame: object) => webSocket.send(JSON.stringify(frame))
    const unsubscribe = (id: string) => {
      const subscription = subscriptions.get(id)
      if (subscription) live.delete(subscription)
      subscriptions.delete(id)
    }
    webSocket.on('close', () => subscriptions.forEach((subscription) => live.delete(subscription)))
    webSocket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id: string; since?: number; token?: string }
      if (frame.type == 'ping') return send({ type: 'pong' })
      if (frame.type == 'unsubscribe') {
        unsubscribe(frame.id)
        return send({ type: 'unsubscribed', id: frame.id })
      }
      const { id, since = 0, token } = frame
      gateway.asks.push({ transport: 'websocket', id, since, token })
      // Subscribing again to the same id restarts it from the new `since`.
      unsubscribe(id)
      const refusal = refusalFor(id, token)
      if (refusal) return send({ type: 'error', id, code: refusal, message: `[jobcast] ${refusal} (fake gateway)` })
      const subscription: LiveSubscription = {
        id,
        token,
        push(event) {
          send({ type: 'job', job: event })
          if (!isTerminal(event)) return
          unsubscribe(id)
          send({ type: 'unsubscribed', id })
        },
        refuse(code) {
          unsubscribe(id)
          send({ type: 'error', id, code, message: `[jobcast] ${code} (fake gateway)` })
        },
      }
      subscriptions.set(id, subscription)
      live.add(subscription)
      send({ type: 'subscribed', id, exists: histories.has(id) })
      backlog(id, since).forEach((event) => subscription.push(event))
    })
  })

  server.listen(port, '127.0.0.1')
  await once(server, 'listening')

  const gateway: FakeGateway = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asks: [],
    authorize: () => undefined,
    ignoreCursor: false,
    plainNotFound: false,
    publish(event) {
      histories.set(event.id, [...(histories.get(event.id) ?? []), event])
      for (const subscription of [...live]) if (subscription.id == event.id) subscription.push(event)
    },
    forget(id) {
      histories.delete(id)
    },
    refuseNext(id, code, times = 1) {
      queuedRefusals.set(id, [...(queuedRefusals.get(id) ?? []), ...Array<string>(times).fill(code)])
    },
    revalidate() {
      for (const subscription of [...live]) {
        const refusal = gateway.authorize(subscription.id, subscription.token)
        if (refusal) subscription.refuse(refusal)
      }
    },
    drop() {
      sockets.clients.forEach((webSocket) => webSocket.terminate())
      streams.forEach((response) => response.destroy())
      dropNextPoll = true
    },
    get openConnections() {
      return sockets.clients.size + streams.size
    },
    async close() {
      sockets.clients.forEach((webSocket) => webSocket.terminate())
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  return gateway
}
