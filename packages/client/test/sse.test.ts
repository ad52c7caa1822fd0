import { http, HttpResponse } from 'msw'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { createClient, type ClientOptions, type JobEvent, type StateChange } from '../src/index.js'
import { countedTimers, ev, GW, mswServer, RefusedWebSocket, sleep, SSE_HEADERS, sseBody, until } from './helpers.js'

const server = mswServer()

const base = (t = countedTimers()): ClientOptions => ({
  url: GW,
  transports: ['sse'],
  linger: 0,
  connectTimeout: 300,
  reconnect: { initial: 20, max: 40, factor: 2 },
  poll: { initial: 10, max: 20, factor: 2 },
  setTimeout: t.setTimeout,
  clearTimeout: t.clearTimeout,
})

type Stream = ReturnType<typeof sseBody> & { request: Request; ids: string[] }
/** Every request to the multi-job stream gets a body the test drives. */
function streams() {
  const list: Stream[] = []
  server.use(
    http.get(`${GW}/v1/events`, ({ request }) => {
      const s = Object.assign(sseBody(), { request, ids: new URL(request.url).searchParams.getAll('id') })
      list.push(s)
      s.write(': ok\n\nretry: 1000\n\n')
      for (const id of s.ids) s.subscribed(id)
      return new HttpResponse(s.body, { headers: SSE_HEADERS })
    }),
  )
  return list
}

describe('SSE transport', () => {
  it('resolves over one multi-job stream, updates in order', async () => {
    const list = streams()
    const t = countedTimers()
    const client = createClient({ ...base(t), token: 'secret' })
    const seen: JobEvent[] = []
    const p = client.waitForJob('a', { onProgress: (j) => seen.push(j) })
    await until(() => list.length === 1)
    const s = list[0]!
    expect(s.ids).toEqual(['a'])
    expect(s.request.headers.get('authorization')).toBe('Bearer secret')
    expect(s.request.headers.get('accept')).toBe('text/event-stream')
    expect(s.request.headers.get('last-event-id')).toBeNull()
    const e1 = ev('a', 'active', { progress: 50 })
    const e2 = ev('a', 'completed')
    s.event(e1)
    s.event(e1) // a repeat is dropped
    s.event(e2)
    expect(await p).toEqual(e2)
    expect(seen).toEqual([e1, e2])
    expect(client.transport).toBe('sse')
    await client.close()
    expect(t.pending).toBe(0)
  })

  it('watching more jobs reopens the stream with all ids and their cursors', async () => {
    const list = streams()
    const client = createClient(base())
    const pa = client.waitForJob('a')
    await until(() => list.length === 1)
    const a1 = ev('a', 'active')
    list[0]!.event(a1)
    await until(() => client.state === 'connected')
    const pb = client.waitForJob('b')
    await until(() => list.length === 2)
    const s = list[1]!
    expect(s.ids).toEqual(['a', 'b'])
    expect(s.request.headers.get('last-event-id')).toBe(`${a1.seq},0`)
    s.event(ev('b', 'completed'))
    await expect(pb).resolves.toMatchObject({ id: 'b' })
    await until(() => list.length === 3)
    expect(list[2]!.ids).toEqual(['a'])
    list[2]!.event(ev('a', 'completed'))
    await expect(pa).resolves.toMatchObject({ id: 'a', status: 'completed' })
    await client.close()
  })

  it('splits more than 100 jobs over streams of at most 100 (the gateway default limit)', async () => {
    const list = streams()
    const client = createClient(base())
    const ids = Array.from({ length: 150 }, (_, i) => `j${i}`)
    const all = Promise.all(ids.map((id) => client.waitForJob(id)))
    await until(() => list.length === 2)
    expect(list.map((s) => s.ids.length)).toEqual([100, 50])
    expect(list.flatMap((s) => s.ids)).toEqual(ids)
    for (const s of list) for (const id of s.ids) s.event(ev(id, 'completed'))
    expect(await all).toHaveLength(150)
    await client.close()
  })

  it('401 before the stream rejects with AuthError; a forbidden error event too', async () => {
    server.use(http.get(`${GW}/v1/events`, () => HttpResponse.json({ error: { code: 'unauthorized', message: 'bad token' } }, { status: 401 })))
    const client = createClient(base())
    await expect(client.waitForJob('a')).rejects.toMatchObject({ name: 'AuthError', status: 401, code: 'unauthorized' })
    server.resetHandlers()
    const list = streams()
    const p = client.waitForJob('b')
    await until(() => list.length === 1)
    list[0]!.write(`event: error\ndata: ${JSON.stringify({ code: 'forbidden', message: 'no', id: 'b' })}\n\n`)
    await expect(p).rejects.toMatchObject({ name: 'AuthError', status: 403 })
    await client.close()
  })

})

describe('fallback', () => {
  const okPolling = (job: () => JobEvent) => http.get(`${GW}/v1/jobs/:id`, () => HttpResponse.json(job()))
  const recordStates = (c: ReturnType<typeof createClient>) => {
    const s: StateChange[] = []
    c.onStateChange((x) => s.push(x))
    return s
  }

  it('refused WebSocket → SSE', async () => {
    const list = streams()
    RefusedWebSocket.count = 0
    const client = createClient({ ...base(), transports: ['websocket', 'sse', 'polling'], WebSocket: RefusedWebSocket as never })
    const states = recordStates(client)
    const p = client.waitForJob('a')
    await until(() => list.length === 1)
    list[0]!.event(ev('a', 'completed'))
    await expect(p).resolves.toMatchObject({ status: 'completed' })
    expect(RefusedWebSocket.count).toBe(1)
    expect(states.map((s) => `${s.state}:${s.transport}`)).toEqual(['connecting:websocket', 'connecting:sse', 'connected:sse'])
    expect(states[1]!.reason).toBe('fallback')
    // The next job starts on the transport that worked.
    const q = client.waitForJob('b')
    await until(() => list.length === 2)
    list[1]!.event(ev('b', 'completed'))
    await q
    expect(RefusedWebSocket.count).toBe(1)
    await client.close()
  })

  it('no global WebSocket (Node 20 without ws) → next transport', async () => {
    const list = streams()
    const client = createClient({ ...base(), transports: ['websocket', 'sse'], WebSocket: undefined })
    const p = client.waitForJob('a')
    await until(() => list.length === 1)
    list[0]!.event(ev('a', 'completed'))
    await expect(p).resolves.toMatchObject({ status: 'completed' })
    await client.close()
  })

  it('SSE held back by a buffering proxy (headers, no bytes) → polling within connectTimeout', async () => {
    const held: ReturnType<typeof sseBody>[] = []
    server.use(
      http.get(`${GW}/v1/events`, () => {
        const s = sseBody()
        held.push(s)
        return new HttpResponse(s.body, { headers: SSE_HEADERS })
      }),
      okPolling(() => ev('a', 'completed')),
    )
    const client = createClient({ ...base(), transports: ['sse', 'polling'], connectTimeout: 150 })
    const t0 = Date.now()
    const job = await client.waitForJob('a', { onProgress: (_, i) => expect(i.transport).toBe('polling') })
    expect(job.status).toBe('completed')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(Date.now() - t0).toBeLessThan(1000)
    // (Aborting the fetch cancels the body in browsers and undici; msw's mocked body ignores it.)
    await client.close()
  })

  it.each([
    ['5xx', () => new HttpResponse('bad gateway', { status: 502 })],
    ['network error', () => HttpResponse.error()],
    ['a stream that ends before delivering', () => new HttpResponse('', { headers: SSE_HEADERS })],
  ])('SSE %s → polling', async (_, respond) => {
    server.use(http.get(`${GW}/v1/events`, respond), okPolling(() => ev('a', 'completed')))
    const client = createClient({ ...base(), transports: ['sse', 'polling'] })
    const states = recordStates(client)
    await expect(client.waitForJob('a')).resolves.toMatchObject({ status: 'completed' })
    expect(states.map((s) => `${s.state}:${s.transport}`)).toEqual(['connecting:sse', 'connecting:polling', 'connected:polling'])
    await client.close()
  })

  it('a failing probe leaves the working transport alone and is tried again later', async () => {
    let probes = 0
    server.use(
      http.get(`${GW}/v1/events`, () => (probes++, new HttpResponse(null, { status: 502 }))),
      http.get(`${GW}/v1/jobs/:id`, () => HttpResponse.json(ev('a', probes >= 3 ? 'completed' : 'active'))),
    )
    const client = createClient({ ...base(), transports: ['sse', 'polling'], upgradeAfter: 60 })
    const states = recordStates(client)
    await expect(client.waitForJob('a')).resolves.toMatchObject({ status: 'completed' })
    expect(probes).toBeGreaterThanOrEqual(3)
    expect(states.map((s) => `${s.state}:${s.transport}`)).toEqual(['connecting:sse', 'connecting:polling', 'connected:polling'])
    await client.close()
  })

  it('a probe that comes up while a dropped transport waits to reconnect cancels that reconnect (no second connection left open)', async () => {
    // A WebSocket the test drives: the first is refused, the second (the upgrade probe) opens on demand.
    class CtlWebSocket {
      static all: CtlWebSocket[] = []
      binaryType = ''
      closed = false
      onopen: (() => void) | null = null
      onmessage: ((e: { data: string }) => void) | null = null
      onclose: (() => void) | null = null
      onerror: (() => void) | null = null
      constructor(_url: string) {
        CtlWebSocket.all.push(this)
      }
      send() {}
      close() {
        this.closed = true
      }
    }
    const list = streams()
    const t = countedTimers()
    const client = createClient({
      ...base(t),
      transports: ['websocket', 'sse'],
      WebSocket: CtlWebSocket as never,
      upgradeAfter: 30,
      reconnect: { initial: 400, max: 400, factor: 2 },
    })
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.99) // the reconnect waits ~400 ms
    onTestFinished(() => random.mockRestore())
    const p = client.waitForJob('a')
    await until(() => CtlWebSocket.all.length === 1)
    CtlWebSocket.all[0]!.onclose!() // refused
    await until(() => client.state === 'connected' && client.transport === 'sse')
    await until(() => CtlWebSocket.all.length === 2) // the upgrade probe, still connecting
    list[0]!.end() // the SSE stream drops: a reconnect is scheduled
    await until(() => client.state === 'reconnecting')
    const probe = CtlWebSocket.all[1]!
    probe.onopen!()
    probe.onmessage!({ data: JSON.stringify({ type: 'subscribed', id: 'a', exists: true }) })
    expect(client).toMatchObject({ state: 'connected', transport: 'websocket' })
    await sleep(500) // past the reconnect delay
    expect(list.length).toBe(1)
    expect(client.transport).toBe('websocket')
    probe.onmessage!({ data: JSON.stringify({ type: 'job', job: ev('a', 'completed') }) })
    await expect(p).resolves.toMatchObject({ status: 'completed' })
    await client.close()
    expect(probe.closed).toBe(true)
    expect(t.pending).toBe(0)
  })

  it('on polling, probes the better transport later and switches once it delivers', async () => {
    let sseUp = false
    const list: ReturnType<typeof sseBody>[] = []
    server.use(
      http.get(`${GW}/v1/events`, () => {
        if (!sseUp) return new HttpResponse(null, { status: 502 })
        const s = sseBody()
        list.push(s)
        s.write(': ok\n\n')
        return new HttpResponse(s.body, { headers: SSE_HEADERS })
      }),
      http.get(`${GW}/v1/jobs/:id`, () => HttpResponse.json(ev('a', 'active'))),
    )
    const client = createClient({ ...base(), transports: ['sse', 'polling'], upgradeAfter: 100 })
    const states = recordStates(client)
    const p = client.waitForJob('a')
    await until(() => client.transport === 'polling' && client.state === 'connected')
    sseUp = true
    await until(() => client.transport === 'sse')
    expect(states.at(-1)).toMatchObject({ state: 'connected', transport: 'sse', reason: 'upgrade' })
    list[0]!.event(ev('a', 'completed'))
    await expect(p).resolves.toMatchObject({ status: 'completed' })
    await client.close()
  })
})
