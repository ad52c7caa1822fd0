/**
 * The wire watch of the chaos pages, against a real HTTP + WebSocket server on loopback that
 * misbehaves on purpose (the gateway never should): a seq sent twice on one stream, a poll
 * answered 200 at its own cursor.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { watchedFetch, watchedWebSocket } from './wire-watch.mjs'

const job = (seq: number) => JSON.stringify({ id: 'a', status: 'active', seq, ts: 1 })
let server: Server
let base: string

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url?.startsWith('/v1/events')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      // The second event is split across writes, as TCP may deliver it.
      response.write(`event: subscribed\ndata: {"id":"a","exists":true}\n\ndata: ${job(2)}\n\nda`)
      response.end(`ta: ${job(2)}\n\n`)
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(job(3))
    }
  })
  const sockets = new WebSocketServer({ server })
  sockets.on('connection', (socket) => {
    for (const seq of [4, 5, 5]) socket.send(JSON.stringify({ type: 'job', job: JSON.parse(job(seq)) }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('wire watch', () => {
  it('sees a seq repeated on one SSE stream, and leaves the page its own copy of the stream', async () => {
    const anomalies: string[] = []
    const response = await watchedFetch((what) => anomalies.push(what))(`${base}/v1/events?id=a`, { headers: { accept: 'text/event-stream' } })
    expect(await response.text()).toContain(`data: ${job(2)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(anomalies).toEqual(['sse sent seq 2 after 2 on one connection'])
  })

  it('sees a poll answered 200 with a seq not above its cursor, and nothing when above', async () => {
    const anomalies: string[] = []
    const watched = watchedFetch((what) => anomalies.push(what))
    await (await watched(`${base}/v1/jobs/a`, { headers: { 'if-none-match': '"2"' } })).json()
    await (await watched(`${base}/v1/jobs/a`, { headers: { 'if-none-match': '"3"' } })).json()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(anomalies).toEqual(['polling got 200 with seq 3 for cursor 3'])
  })

  it('sees a seq repeated on one WebSocket', async () => {
    const anomalies: string[] = []
    const Watched = watchedWebSocket((what) => anomalies.push(what))
    const socket = new Watched(base.replace('http', 'ws'))
    let frames = 0
    await new Promise<void>((resolve) => socket.addEventListener('message', () => ++frames === 3 && resolve()))
    socket.close()
    expect(anomalies).toEqual(['websocket sent seq 5 after 5 on one connection'])
  })
})
