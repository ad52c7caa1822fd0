/** The WebSocket endpoint over real sockets: frames, limits, pings, slow consumers, auth. */
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Authorizer } from '../src/auth/authorizer.js'
import { openWs, type WsClient } from '../../../test/support/clients.js'
import { startGateway, type StartGatewayOptions, type TestGateway } from '../../../test/support/gateway.js'

let gw: TestGateway | undefined
const sockets: WsClient[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.socket.terminate()
  await gw?.close()
  gw = undefined
})

async function connect(options: StartGatewayOptions = {}, query = ''): Promise<WsClient> {
  gw ??= await startGateway(options)
  const ws = await openWs(gw.wsUrl + query)
  sockets.push(ws)
  return ws
}

const frame = (ws: WsClient, pred: (f: WsClient['frames']['items'][number]) => boolean, what = 'frame') =>
  ws.frames.until(() => ws.frames.items.find(pred), 5_000, what)

describe('frames', () => {
  it('sends every frame as a text frame, as browsers need for JSON.parse(event.data)', async () => {
    const ws = await connect()
    const opcodes: boolean[] = []
    ws.socket.on('message', (_data, isBinary) => opcodes.push(isBinary))
    ws.send({ type: 'subscribe', id: 'text-1' })
    await frame(ws, (f) => f.type === 'subscribed')
    await gw!.gateway.bus.publish({ id: 'text-1', status: 'completed', result: { ok: true } })
    await frame(ws, (f) => f.type === 'job')
    ws.send({ type: 'ping' })
    await frame(ws, (f) => f.type === 'pong')
    expect(opcodes.length).toBeGreaterThanOrEqual(3)
    expect(opcodes.every((binary) => binary === false)).toBe(true)
  })

  it('answers garbage with bad_frame and keeps the socket open', async () => {
    const ws = await connect()
    ws.send('not json')
    ws.send('{"type":"explode"}')
    ws.socket.send(Buffer.from([1, 2, 3]), { binary: true })
    ws.send({ type: 'ping' })
    await frame(ws, (f) => f.type === 'pong', 'pong')
    expect(ws.frames.items.filter((f) => f.type === 'error').map((f) => f.code)).toEqual(['bad_frame', 'bad_frame', 'bad_frame'])
    expect(ws.socket.readyState).toBe(ws.socket.OPEN)
  })

  it('rejects an invalid id with invalid_job_id naming it', async () => {
    const ws = await connect()
    ws.send({ type: 'subscribe', id: 'a b' })
    expect(await frame(ws, (f) => f.type === 'error')).toMatchObject({ type: 'error', id: 'a b', code: 'invalid_job_id' })
  })

  it('closes with 1009 on an oversized frame', async () => {
    const ws = await connect({ maxFrameBytes: 1024 })
    ws.send({ type: 'subscribe', id: 'a', token: 'x'.repeat(2048) })
    expect((await ws.closed).code).toBe(1009)
  })

  it('limits subscriptions per socket without disturbing the others', async () => {
    const ws = await connect({ maxSubscriptions: 2 })
    for (const id of ['a', 'b', 'c']) ws.send({ type: 'subscribe', id })
    expect(await frame(ws, (f) => f.type === 'error')).toMatchObject({ id: 'c', code: 'too_many_subscriptions' })
    await frame(ws, (f) => f.type === 'subscribed' && f.id === 'b')
    await gw!.gateway.bus.publish({ id: 'b', status: 'active' })
    await frame(ws, (f) => f.type === 'job' && f.job?.id === 'b')
    ws.send({ type: 'unsubscribe', id: 'a' })
    await frame(ws, (f) => f.type === 'unsubscribed' && f.id === 'a')
    ws.send({ type: 'subscribe', id: 'c' })
    await frame(ws, (f) => f.type === 'subscribed' && f.id === 'c')
  })

  it('stops delivering after unsubscribe and frees the hub watch', async () => {
    const ws = await connect()
    ws.send({ type: 'subscribe', id: 'u' })
    await frame(ws, (f) => f.type === 'subscribed')
    expect(gw!.gateway.hub.watchedJobs).toBe(1)
    ws.send({ type: 'unsubscribe', id: 'u' })
    await frame(ws, (f) => f.type === 'unsubscribed')
    expect(gw!.gateway.hub.watchedJobs).toBe(0)
    await gw!.gateway.bus.publish({ id: 'u', status: 'active' })
    ws.send({ type: 'ping' })
    await frame(ws, (f) => f.type === 'pong')
    expect(ws.jobs()).toEqual([])
  })

  it('refuses plain HTTP on /v1/ws and upgrades elsewhere', async () => {
    gw = await startGateway()
    const plain = await fetch(`${gw.url}/v1/ws`)
    expect(plain.status).toBe(426)
    await expect(openWs(`ws://127.0.0.1:${gw.port}/elsewhere`)).rejects.toThrow(/404/)
  })
})

describe('liveness', () => {
  it('terminates a peer that stops answering pings', async () => {
    const ws = await connect({ wsPingIntervalMs: 60 })
    ws.send({ type: 'subscribe', id: 'p' })
    await frame(ws, (f) => f.type === 'subscribed')
    // A paused socket reads nothing, so it never answers a ping: a dead peer.
    ;(ws.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
    await new Promise((r) => setTimeout(r, 250))
    expect(gw!.gateway.hub.watchedJobs).toBe(0)
  })

  it('keeps a peer that answers pings', async () => {
    const ws = await connect({ wsPingIntervalMs: 40 })
    await new Promise((r) => setTimeout(r, 200))
    expect(ws.socket.readyState).toBe(ws.socket.OPEN)
  })
})

describe('authorization', () => {
  const authorizer: Authorizer = {
    open: false,
    async authorize(jobId, token) {
      if (token === undefined) return { ok: false, code: 'unauthorized', message: '[jobcast] no token' }
      if (token === 'short') return { ok: true, expiresAt: Date.now() + 60 }
      return token === `t-${jobId}` ? { ok: true } : { ok: false, code: 'forbidden', message: '[jobcast] other job' }
    },
  }

  it('uses the frame token, else the upgrade ?token=, per subscription', async () => {
    const ws = await connect({ authorizer }, '?token=t-a')
    ws.send({ type: 'subscribe', id: 'a' })
    ws.send({ type: 'subscribe', id: 'b' })
    ws.send({ type: 'subscribe', id: 'c', token: 't-c' })
    await frame(ws, (f) => f.type === 'subscribed' && f.id === 'a')
    await frame(ws, (f) => f.type === 'subscribed' && f.id === 'c')
    expect(await frame(ws, (f) => f.type === 'error')).toMatchObject({ id: 'b', code: 'forbidden' })
    const bare = await openWs(gw!.wsUrl)
    sockets.push(bare)
    bare.send({ type: 'subscribe', id: 'a' })
    expect(await frame(bare, (f) => f.type === 'error')).toMatchObject({ id: 'a', code: 'unauthorized' })
  })

  it('ends a subscription with token_expired when its grant ends', async () => {
    const ws = await connect({ authorizer })
    ws.send({ type: 'subscribe', id: 'x', token: 'short' })
    await frame(ws, (f) => f.type === 'subscribed')
    expect(await frame(ws, (f) => f.type === 'error')).toMatchObject({ id: 'x', code: 'token_expired' })
    expect(gw!.gateway.hub.watchedJobs).toBe(0)
  })

  it('runs the upgrade check first and releases its slot when the socket closes', async () => {
    let released = 0
    gw = await startGateway({
      checkUpgrade: (req) =>
        req.headers.origin === 'https://evil.example'
          ? { ok: false, status: 403, code: 'forbidden', message: 'origin not allowed' }
          : { ok: true, release: () => released++ },
    })
    const status = await new Promise<number>((resolve) => {
      const req = request(`${gw!.url}/v1/ws`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', origin: 'https://evil.example', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      })
      req.on('response', (res) => resolve(res.statusCode ?? 0))
      req.end()
    })
    expect(status).toBe(403)
    const ws = await openWs(gw.wsUrl)
    ws.close()
    await ws.closed
    await new Promise((r) => setTimeout(r, 20))
    expect(released).toBe(1)
  })
})
