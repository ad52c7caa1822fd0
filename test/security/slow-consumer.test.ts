/**
 * A WebSocket peer that never reads must not make the gateway buffer without bound: once
 * the socket's queued output passes `maxBufferedBytes` the gateway closes it (1008) and
 * frees it, while a healthy subscriber of the same job keeps receiving every event.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { createSecurityHooks, type SecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { openWs } from '../support/clients.js'
import { frame, rawUpgrade } from './raw-ws.js'
import { mint, SECRET } from './tokens.js'

const BOUND = 256 * 1024
const EVENTS = 400
const PAYLOAD = 'x'.repeat(48 * 1024) // under the bus's 64 KiB message limit
let gw: TestGateway
let hooks: SecurityHooks
/** The gateway-side TCP sockets of accepted upgrades, in order: their write queues are the memory at stake. */
const serverSockets: Socket[] = []

beforeAll(async () => {
  hooks = createSecurityHooks({ maxConnectionsPerIp: 10 })
  gw = await startGateway({
    authorizer: createJwtAuthorizer({ secret: SECRET }),
    maxBufferedBytes: BOUND,
    ...hooks,
    checkUpgrade: (req: IncomingMessage) => {
      serverSockets.push(req.socket as Socket)
      return hooks.checkUpgrade(req)
    },
  })
})
afterAll(() => gw?.close())

describe('slow consumer', () => {
  it('closes a WebSocket that never reads once its backlog passes the bound, without hurting others', async () => {
    const id = 'user-1:big-export'
    const token = await mint({ jobs: [id] })
    await gw.gateway.bus.publish({ id, status: 'active', progress: 0 })

    const healthy = await openWs(`${gw.wsUrl}?token=${token}`)
    healthy.send({ type: 'subscribe', id })
    await healthy.frames.until(() => healthy.jobs(id)[0], 3_000, 'healthy snapshot')

    const slow = await rawUpgrade(gw.port, `/v1/ws?token=${token}`)
    slow.socket.write(frame(1, JSON.stringify({ type: 'subscribe', id })))
    await new Promise((r) => setTimeout(r, 100))
    slow.socket.pause() // never read again: the kernel buffers fill, then the gateway's queue grows

    const gatewaySide = serverSockets[1] as Socket
    let peakQueued = 0
    for (let i = 1; i <= EVENTS; i++) {
      await gw.gateway.bus.publish({ id, status: 'active', progress: (i * 100) / (EVENTS + 1), data: { blob: PAYLOAD } })
      peakQueued = Math.max(peakQueued, gatewaySide.writableLength)
      // The healthy client reads in this same process: let it keep up (a few events behind at
      // most), so only the paused peer builds a backlog.
      await healthy.frames.until(() => (healthy.jobs(id).length >= i - 2 ? true : undefined), 10_000, `healthy event ${i}`)
    }
    await gw.gateway.bus.publish({ id, status: 'completed' })
    const published = EVENTS * PAYLOAD.length

    // The healthy client gets every event, in order.
    await healthy.frames.until(() => healthy.jobs(id).find((j) => j.status === 'completed'), 10_000, 'healthy terminal')
    const seqs = healthy.jobs(id).map((j) => j.seq)
    expect(seqs).toHaveLength(EVENTS + 2)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)

    // The slow one was cut: its per-IP slot is back and its socket is closed.
    slow.socket.resume()
    await slow.closed
    await expect.poll(() => hooks.wsConnections.count('127.0.0.1'), { timeout: 3_000 }).toBe(1)
    // What it could still read is the bound plus the kernel's socket buffers, far from everything published.
    expect(slow.received()).toBeLessThan(published / 2)
    // The gateway never queued more than the bound plus the one frame that crossed it.
    expect(peakQueued).toBeGreaterThan(BOUND / 2) // the backlog did build up: the test exercised the bound
    expect(peakQueued).toBeLessThanOrEqual(BOUND + PAYLOAD.length + 1024)
    expect(gatewaySide.destroyed).toBe(true)
    healthy.close()
  })

  it('ends an SSE stream whose client never reads, and frees its per-IP slot', async () => {
    const id = 'user-1:big-sse'
    const token = await mint({ jobs: [id] })
    await gw.gateway.bus.publish({ id, status: 'active', progress: 0 })
    const socket = connect(gw.port, '127.0.0.1')
    let received = 0
    socket.on('data', (chunk: Buffer) => (received += chunk.length))
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.on('error', () => undefined)
    socket.write(`GET /v1/jobs/${id}/events?token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`)
    await expect.poll(() => hooks.sseConnections.count('127.0.0.1')).toBe(1)
    await expect.poll(() => received).toBeGreaterThan(0)
    socket.pause()
    for (let i = 1; i <= EVENTS; i++) {
      await gw.gateway.bus.publish({ id, status: 'active', progress: (i * 100) / (EVENTS + 1), data: { blob: PAYLOAD } })
      if (i % 20 === 0) await new Promise((r) => setImmediate(r))
    }
    // Freed on the gateway side (before any terminal event) although the client still has not read a byte more.
    await expect.poll(() => hooks.sseConnections.count('127.0.0.1'), { timeout: 5_000 }).toBe(0)
    await gw.gateway.bus.publish({ id, status: 'completed' })
    socket.resume()
    await closed
    expect(received).toBeLessThan((EVENTS * PAYLOAD.length) / 2)
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
  })
})
