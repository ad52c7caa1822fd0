/**
 * File descriptors cannot be held by one address: TCP connections are capped per IP and in
 * total (a refused socket is closed at once and counted), and a socket that sends no complete
 * request within the request timeout is closed, while SSE streams and WebSockets, whose
 * request completed long ago, stay open. Other clients keep getting answers throughout.
 * Loopback aliases (127.0.0.2, …) stand for other clients' addresses.
 */
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecurityHooks, type SecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'

const REQUEST_TIMEOUT_MS = 1_500
let gw: TestGateway
let hooks: SecurityHooks

beforeAll(async () => {
  hooks = createSecurityHooks({ maxSocketsPerIp: 40, maxSockets: 150 })
  gw = await startGateway({ security: hooks, requestTimeoutMs: REQUEST_TIMEOUT_MS, heartbeatMs: 200 })
})
afterAll(() => gw?.close())

/** An idle TCP connection (no request sent) and whether the server has closed it. */
interface IdleSocket {
  readonly socket: Socket
  readonly closedAt: () => number | undefined
}

async function openIdle(count: number, localAddress: string): Promise<IdleSocket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<IdleSocket>((resolve, reject) => {
          let closedAt: number | undefined
          const socket = connect({ port: gw.port, host: '127.0.0.1', localAddress })
          socket.on('error', () => undefined)
          socket.on('close', () => (closedAt = Date.now()))
          socket.once('connect', () => resolve({ socket, closedAt: () => closedAt }))
          socket.once('error', reject)
        }),
    ),
  )
}

/** GET from another address; resolves at the first body chunk with the status and the body so far. */
function get(path: string, localAddress: string): Promise<{ status: number; body(): string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path, localAddress, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString()
        resolve({ status: res.statusCode ?? 0, body: () => body, close: () => req.destroy() })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

const alive = (sockets: IdleSocket[]): number => sockets.filter((s) => s.closedAt() === undefined).length

describe('TCP connections', () => {
  it('keeps 40 of 300 idle sockets from one address, closes the rest at once, and answers other clients', async () => {
    const refusedBefore = hooks.refusedSockets
    const idle = await openIdle(300, '127.0.0.1')
    await expect.poll(() => alive(idle), { timeout: 2_000 }).toBe(40)
    expect(hooks.refusedSockets - refusedBefore).toBe(260)
    expect(hooks.sockets.count('127.0.0.1')).toBe(40)

    // Another address is answered on every transport.
    expect((await get('/healthz', '127.0.0.2')).status).toBe(200)
    await gw.gateway.bus.publish({ id: 'fd-job', status: 'active', progress: 1 })
    expect((await get('/v1/jobs/fd-job', '127.0.0.2')).status).toBe(200)
    const sse = await get('/v1/jobs/fd-job/events', '127.0.0.2')
    const streamsOpenedAt = Date.now()
    expect(sse.status).toBe(200)
    const ws = new WebSocket(gw.wsUrl, { localAddress: '127.0.0.2' })
    const frames: string[] = []
    ws.on('message', (data) => frames.push(data.toString()))
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
    ws.send(JSON.stringify({ type: 'subscribe', id: 'fd-job' }))

    // Idle sockets never sent a request: closed once the request timeout has passed.
    const openedAt = Date.now()
    await expect.poll(() => alive(idle), { timeout: REQUEST_TIMEOUT_MS * 3 }).toBe(0)
    const lastClosed = Math.max(...idle.map((s) => s.closedAt() ?? 0))
    expect(lastClosed - openedAt).toBeLessThan(REQUEST_TIMEOUT_MS * 3)
    await expect.poll(() => hooks.sockets.count('127.0.0.1')).toBe(0)

    // The SSE stream and the WebSocket outlive the request timeout (twice over) and still deliver.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, streamsOpenedAt + 2 * REQUEST_TIMEOUT_MS - Date.now())))
    await gw.gateway.bus.publish({ id: 'fd-job', status: 'active', progress: 2 })
    await expect.poll(() => frames.some((f) => f.includes('"progress":2'))).toBe(true)
    await expect.poll(() => sse.body().includes('"progress":2')).toBe(true)
    expect(ws.readyState).toBe(WebSocket.OPEN)
    expect(hooks.sockets.count('127.0.0.2')).toBe(2)
    sse.close()
    ws.close()
    await expect.poll(() => hooks.sockets.count('127.0.0.2')).toBe(0)
  })

  it('answers a request whose headers trickle in slower than the request timeout with 408, and closes it', async () => {
    const startedAt = Date.now()
    const { answer, closedAfter } = await new Promise<{ answer: string; closedAfter: number }>((resolve, reject) => {
      const socket = connect({ port: gw.port, host: '127.0.0.1', localAddress: '127.0.0.8' })
      let answer = ''
      const drip = setInterval(() => socket.writable && socket.write(`x-drip-${Date.now()}: 1\r\n`), 200)
      socket.on('data', (chunk) => (answer += chunk.toString()))
      socket.on('error', reject)
      socket.on('close', () => {
        clearInterval(drip)
        resolve({ answer, closedAfter: Date.now() - startedAt })
      })
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    })
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer).toMatch(/"code":"bad_request"/)
    expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS * 3)
  })

  it('caps sockets in total, and admits again when they close', async () => {
    const refusedBefore = hooks.refusedSockets
    const groups = await Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((address) => openIdle(40, address)))
    const all = groups.flat()
    await expect.poll(() => alive(all), { timeout: 2_000 }).toBe(150)
    expect(hooks.refusedSockets - refusedBefore).toBe(10)
    for (const s of all) s.socket.destroy()
    await expect.poll(() => hooks.sockets.total).toBe(0)
    expect((await get('/healthz', '127.0.0.7')).status).toBe(200)
  })
})
