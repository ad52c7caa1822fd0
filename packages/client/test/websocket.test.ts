// WebSocket unit tests run against a tiny real `ws` server on port 0 rather than msw's
// WebSocket interception: the client takes its WebSocket constructor by injection (Node 20
// has no global one), so a real socket is both simpler and closer to the truth.
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createClient, isAbortError, type ClientOptions, type JobEvent, type StateChange } from '../src/index.js'
import { countedTimers, ev, sleep, until } from './helpers.js'

type Frame = { type: string; id?: string; since?: number; token?: string }
interface Peer {
  ws: WebSocket
  frames: Frame[]
  send(f: object): void
}

let wss: WebSocketServer | undefined
afterEach(async () => {
  for (const c of wss?.clients ?? []) c.terminate()
  await new Promise((r) => wss?.close(r) ?? r(0))
  wss = undefined
})

/** A ws server that records frames; by default answers subscribe with `subscribed`. */
async function server(onFrame?: (p: Peer, f: Frame) => void) {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await once(wss, 'listening')
  const peers: Peer[] = []
  const paths: string[] = []
  wss.on('connection', (ws, req) => {
    paths.push(req.url!)
    const p: Peer = { ws, frames: [], send: (f) => ws.send(JSON.stringify(f)) }
    peers.push(p)
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as Frame
      p.frames.push(f)
      if (onFrame) onFrame(p, f)
      else if (f.type == 'subscribe') p.send({ type: 'subscribed', id: f.id, exists: true })
    })
  })
  const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`
  return { url, peers, paths }
}

const base = (url: string, t = countedTimers()): ClientOptions => ({
  url,
  transports: ['websocket'],
  WebSocket,
  linger: 50,
  connectTimeout: 500,
  reconnect: { initial: 20, max: 40, factor: 2 },
  setTimeout: t.setTimeout,
  clearTimeout: t.clearTimeout,
})
const job = (e: JobEvent) => ({ type: 'job', job: e })

describe('WebSocket transport', () => {
  it('resolves; one socket carries every job; closes after the linger', async () => {
    const s = await server()
    const t = countedTimers()
    const client = createClient({ ...base(s.url, t), token: (id) => `tok-${id}` })
    const pa = client.waitForJob('a')
    const pb = client.waitForJob('b')
    await until(() => s.peers[0]?.frames.length === 2)
    expect(s.paths).toEqual(['/v1/ws'])
    expect(s.peers[0]!.frames).toEqual([
      { type: 'subscribe', id: 'a', since: 0, token: 'tok-a' },
      { type: 'subscribe', id: 'b', since: 0, token: 'tok-b' },
    ])
    const a = ev('a', 'completed', { result: { downloadUrl: '/x' } })
    s.peers[0]!.send(job(ev('b', 'active')))
    s.peers[0]!.send(job(a))
    expect(await pa).toEqual(a)
    expect(client.transport).toBe('websocket')
    expect(client.state).toBe('connected')
    s.peers[0]!.send(job(ev('b', 'completed')))
    await pb
    expect(s.peers).toHaveLength(1)
    await until(() => client.state === 'idle')
    await until(() => s.peers[0]!.ws.readyState === WebSocket.CLOSED)
    expect(t.pending).toBe(0)
    await client.close()
  })

  it('a socket that worked gets a few reconnects before falling back (gateway restart)', async () => {
    const rnd = vi.spyOn(Math, 'random').mockReturnValue(0.999) // reconnects after ~19, ~39, ~39 ms
    onTestFinished(() => rnd.mockRestore())
    const s = await server()
    const port = Number(new URL(s.url).port)
    const list: string[] = []
    const client = createClient({ ...base(s.url), transports: ['websocket', 'polling'], poll: { initial: 5000, max: 5000, factor: 1 } })
    client.onStateChange((c) => list.push(`${c.state}:${c.transport}`))
    const p = client.waitForJob('a')
    await until(() => client.state === 'connected')
    // The gateway goes away and comes back on the same port a moment later.
    for (const c of wss!.clients) c.terminate()
    await new Promise((r) => wss!.close(r))
    await sleep(45) // down past the first reconnect, back before the third
    wss = new WebSocketServer({ port, host: '127.0.0.1' })
    await once(wss, 'listening')
    const back: WebSocket[] = []
    wss.on('connection', (ws) => {
      back.push(ws)
      ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as Frame
        if (f.type == 'subscribe') {
          ws.send(JSON.stringify({ type: 'subscribed', id: f.id, exists: true }))
          ws.send(JSON.stringify(job(ev('a', 'completed'))))
        }
      })
    })
    await expect(p).resolves.toMatchObject({ status: 'completed' })
    expect(list).not.toContain('connecting:polling')
    expect(back).toHaveLength(1)
    await client.close()
  })

  it('accepts job frames sent as binary (the contract says text; nothing is lost either way)', async () => {
    const s = await server()
    const client = createClient(base(s.url))
    const p = client.waitForJob('a')
    await until(() => s.peers[0]?.frames.length === 1)
    s.peers[0]!.ws.send(Buffer.from(JSON.stringify(job(ev('a', 'completed', { message: 'Größe ✓' })))), { binary: true })
    await expect(p).resolves.toMatchObject({ status: 'completed', message: 'Größe ✓' })
    await client.close()
  })

  it('a per-job forbidden error rejects that job only', async () => {
    const s = await server()
    const client = createClient(base(s.url))
    const pa = client.waitForJob('a')
    const pb = client.waitForJob('b')
    await until(() => s.peers[0]?.frames.length === 2)
    s.peers[0]!.send({ type: 'error', id: 'a', code: 'forbidden', message: 'not yours' })
    await expect(pa).rejects.toMatchObject({ name: 'AuthError', status: 403, jobId: 'a' })
    await until(() => s.peers[0]!.frames.length === 3)
    expect(s.peers[0]!.frames[2]).toEqual({ type: 'unsubscribe', id: 'a' })
    s.peers[0]!.send(job(ev('b', 'completed')))
    await expect(pb).resolves.toMatchObject({ id: 'b' })
    await client.close()
  })

  it('a socket that opens but stays silent counts as failed within connectTimeout', async () => {
    const s = await server(() => {})
    const client = createClient({ ...base(s.url), connectTimeout: 100 })
    const states: StateChange[] = []
    client.onStateChange((c) => states.push(c))
    const p = client.waitForJob('a')
    await until(() => states.some((c) => c.state === 'reconnecting'))
    expect(states[1]).toMatchObject({ state: 'reconnecting', reason: 'error' })
    await client.close()
    await expect(p).rejects.toMatchObject({ code: 'client_closed' })
  })

  it('a server that accepts TCP but never completes the handshake counts as failed within connectTimeout', async () => {
    const socks: Socket[] = []
    const tcp = createServer((sock) => socks.push(sock.on('error', () => {})))
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
    onTestFinished(() => new Promise<void>((r) => (socks.forEach((x) => x.destroy()), tcp.close(() => r()))))
    const client = createClient({ ...base(`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`), connectTimeout: 100 })
    const states: StateChange[] = []
    client.onStateChange((c) => states.push(c))
    const t0 = Date.now()
    const p = client.waitForJob('a')
    await until(() => states.some((c) => c.state === 'reconnecting'))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90)
    await client.close()
    await expect(p).rejects.toMatchObject({ code: 'client_closed' })
  })

  it('pings when quiet and reconnects after heartbeatTimeout of silence', async () => {
    let answer = true
    const s = await server((p, f) => {
      if (f.type == 'subscribe') p.send({ type: 'subscribed', id: f.id, exists: true })
      if (f.type == 'ping' && answer) p.send({ type: 'pong' })
    })
    const client = createClient({ ...base(s.url), connectTimeout: 100, heartbeatTimeout: 150 })
    const p = client.waitForJob('a')
    await until(() => s.peers[0]?.frames.some((f) => f.type == 'ping'))
    answer = false
    await until(() => s.peers.length === 2, 2000)
    s.peers[1]!.send(job(ev('a', 'completed')))
    await p
    await client.close()
  })

  it('abort while connecting and while connected: AbortError, socket released', async () => {
    const s = await server()
    const t = countedTimers()
    const client = createClient({ ...base(s.url, t), linger: 0 })
    const c1 = new AbortController()
    const p1 = client.waitForJob('a', { signal: c1.signal })
    c1.abort()
    await expect(p1).rejects.toSatisfy(isAbortError)
    const c2 = new AbortController()
    const p2 = client.waitForJob('b', { signal: c2.signal })
    await until(() => client.state === 'connected')
    c2.abort()
    await expect(p2).rejects.toMatchObject({ name: 'AbortError' })
    await until(() => client.state === 'idle')
    await sleep(20)
    expect(t.pending).toBe(0)
    await until(() => s.peers.every((p) => p.ws.readyState === WebSocket.CLOSED))
    await client.close()
  })

  it.each(['bus_unavailable', 'rate_limited', 'shutting_down', 'internal', 'too_many_connections'])(
    '%s: that job alone subscribes again from its cursor after a backoff; the other job is untouched',
    async (code) => {
      let refusals = 0
      const s = await server((p, f) => {
        if (f.type != 'subscribe') return
        // Job a is refused twice (after one event), then served; job b is served at once.
        if (f.id == 'a' && f.since && refusals < 2) {
          refusals++
          return p.send({ type: 'error', id: 'a', code, message: `[jobcast] ${code}: try again` })
        }
        p.send({ type: 'subscribed', id: f.id, exists: true })
      })
      const client = createClient(base(s.url))
      const seenA: JobEvent[] = []
      const pa = client.waitForJob('a', { onProgress: (j) => seenA.push(j) })
      const pb = client.waitForJob('b')
      await until(() => s.peers[0]?.frames.length === 2)
      const a1 = ev('a', 'active', { progress: 10 })
      s.peers[0]!.send(job(a1))
      await until(() => seenA.length === 1)
      // The subscription fails (say the gateway's Redis went away); its next two subscribes too.
      s.peers[0]!.frames.length = 0
      s.peers[0]!.send({ type: 'error', id: 'a', code, message: `[jobcast] ${code}: try again` })
      await until(() => s.peers[0]!.frames.filter((f) => f.type == 'subscribe').length === 3)
      // Only a, from its cursor: b was neither unsubscribed nor subscribed again.
      expect(s.peers[0]!.frames.filter((f) => f.type != 'ping')).toEqual([
        { type: 'subscribe', id: 'a', since: a1.seq },
        { type: 'subscribe', id: 'a', since: a1.seq },
        { type: 'subscribe', id: 'a', since: a1.seq },
      ])
      s.peers[0]!.send(job(ev('a', 'completed')))
      s.peers[0]!.send(job(ev('b', 'completed')))
      await expect(pa).resolves.toMatchObject({ status: 'completed' })
      await expect(pb).resolves.toMatchObject({ id: 'b' })
      expect(s.peers).toHaveLength(1)
      await client.close()
    },
  )

  it('the retry delays of one job follow the reconnect backoff with full jitter, and an event resets them', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    onTestFinished(() => random.mockRestore())
    // Subscribes 1–4 and 6 are refused, 5 and 7 served.
    let subscribes = 0
    const s = await server((p, f) => {
      if (f.type != 'subscribe') return
      if (++subscribes != 5 && subscribes != 7) return p.send({ type: 'error', id: f.id, code: 'bus_unavailable', message: '[jobcast] Redis is unavailable' })
      p.send({ type: 'subscribed', id: f.id, exists: true })
    })
    const delays: number[] = []
    const t = countedTimers()
    const client = createClient({
      ...base(s.url, t),
      linger: 0,
      reconnect: { initial: 40, max: 100, factor: 2 },
      // Records every delay the client asks for; the retry ones are told apart by their values.
      setTimeout: (fn, ms) => (delays.push(ms), t.setTimeout(fn, ms)),
    })
    const p = client.waitForJob('a')
    await until(() => subscribes === 5)
    s.peers[0]!.send(job(ev('a', 'active')))
    s.peers[0]!.send({ type: 'error', id: 'a', code: 'rate_limited', message: '[jobcast] slow down' })
    await until(() => subscribes === 7)
    s.peers[0]!.send(job(ev('a', 'completed')))
    await p
    // Half of each cap (random 0.5): 40·2^n capped at 100 → 20, 40, 50, 50; after the event
    // the count starts again: 20, then 40 for the next error in a row.
    expect(delays.filter((ms) => ms > 0 && ms <= 50)).toEqual([20, 40, 50, 50, 20, 40])
    await client.close()
  })

  it('no JobLostError when the job comes back within the grace: by an event, or restored with the seq already seen', async () => {
    const first = ev('a', 'active', { progress: 30 })
    const done = ev('a', 'completed')
    for (const comeback of ['event', 'restored'] as const) {
      // Unknown on the second socket's first subscribe; then either an event arrives, or the
      // snapshot is put back as it was (no event: the cursor already covers it).
      const s = await server((p, f) => {
        if (f.type != 'subscribe') return
        const subscribes = s.peers.flatMap((x) => x.frames).filter((x) => x.type == 'subscribe').length
        p.send({ type: 'subscribed', id: f.id, exists: subscribes != 2 })
        if (subscribes == 1) p.send(job(first))
        if (subscribes == 2 && comeback == 'event') setTimeout(() => p.send(job(done)), 100)
      })
      const client = createClient({ ...base(s.url), lostGrace: 200 })
      const seen: JobEvent[] = []
      const wait = client.waitForJob('a', { onProgress: (j) => seen.push(j) })
      await until(() => seen.length === 1)
      s.peers[0]!.ws.terminate()
      if (comeback == 'restored') {
        await until(() => s.peers[1]?.frames.filter((f) => f.type == 'subscribe').length === 2, 2000)
        await sleep(300) // well past the grace
        s.peers[1]!.send(job(done))
      }
      await expect(wait).resolves.toEqual(done)
      await client.close()
      for (const c of wss!.clients) c.terminate()
      await new Promise((r) => wss!.close(r))
    }
  })
})
