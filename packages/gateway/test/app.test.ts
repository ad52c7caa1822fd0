/** Routes through `app.request()`: no sockets. */
import { afterEach, describe, expect, it } from 'vitest'
import { openAuthorizer, type Authorizer } from '../src/auth/authorizer.js'
import { createApp } from '../src/app.js'
import { createMemoryBus, type MemoryBus } from '../src/bus/memory-bus.js'
import { JobcastError } from '../src/errors.js'
import { JobHub } from '../src/hub.js'
import { ConnectionRegistry } from '../src/registry.js'

let bus: MemoryBus
let hub: JobHub
afterEach(async () => {
  hub?.close()
  await bus?.close()
})

function setup(extra: Partial<Parameters<typeof createApp>[0]> = {}) {
  bus = createMemoryBus()
  hub = new JobHub(bus)
  const registry = new ConnectionRegistry()
  return { app: createApp({ hub, registry, authorizer: openAuthorizer, ...extra }), registry }
}

async function readUntil(response: Response, marker: string): Promise<string> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!text.includes(marker)) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  await reader.cancel()
  return text
}

describe('health', () => {
  it('answers healthz and readyz', async () => {
    const { app, registry } = setup()
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true })
    expect((await app.request('/readyz')).status).toBe(200)
    await bus.close()
    const down = await app.request('/readyz')
    expect(down.status).toBe(503)
    expect(await down.json()).toMatchObject({ error: { code: 'bus_unavailable' } })
    registry.shutdownAll()
    expect(await (await app.request('/readyz')).json()).toMatchObject({ error: { code: 'shutting_down' } })
  })
})

describe('errors', () => {
  it('404 not_found JSON for unknown routes', async () => {
    const { app } = setup()
    const response = await app.request('/nope')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/application\/json/)
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/^\[jobcast\] /) } })
  })

  it('405 method_not_allowed with Allow on known paths', async () => {
    const { app } = setup()
    for (const path of ['/v1/jobs/a', '/v1/jobs/a/events', '/v1/events', '/healthz']) {
      const response = await app.request(path, { method: 'POST' })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
      expect(await response.json()).toMatchObject({ error: { code: 'method_not_allowed' } })
    }
  })

  it('400 invalid_job_id on every route', async () => {
    const { app } = setup()
    for (const path of ['/v1/jobs/a%20b', '/v1/jobs/a%20b/events', '/v1/events?id=a%20b', '/v1/events', `/v1/jobs/${'x'.repeat(129)}`]) {
      const response = await app.request(path)
      expect(response.status, path).toBe(400)
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_job_id' } })
    }
  })

  it('400 too_many_jobs and bad_cursor on the multi-job stream', async () => {
    const { app } = setup({ maxJobsPerStream: 2 })
    const many = await app.request('/v1/events?id=a&id=b&id=c')
    expect(many.status).toBe(400)
    expect(await many.json()).toMatchObject({ error: { code: 'too_many_jobs' } })
    const cursor = await app.request('/v1/events?id=a&id=b', { headers: { 'last-event-id': '5' } })
    expect(cursor.status).toBe(400)
    expect(await cursor.json()).toMatchObject({ error: { code: 'bad_cursor' } })
    const single = await app.request('/v1/jobs/a/events?lastEventId=abc')
    expect(await single.json()).toMatchObject({ error: { code: 'bad_cursor' } })
  })

  it('maps a bus outage to 503 and anything unexpected to 500 internal, never crashing', async () => {
    const failing = { watch: hubWatch(), get: async () => { throw new JobcastError('bus_unavailable', 'down') }, bus: { kind: 'memory', state: 'up' } }
    bus = createMemoryBus()
    hub = new JobHub(bus)
    const app = createApp({ hub: failing as unknown as JobHub, authorizer: openAuthorizer })
    const outage = await app.request('/v1/jobs/a')
    expect(outage.status).toBe(503)
    expect(await outage.json()).toMatchObject({ error: { code: 'bus_unavailable' } })
    const broken = createApp({ hub: { ...failing, get: async () => { throw new TypeError('boom') } } as unknown as JobHub, authorizer: openAuthorizer })
    const original = console.error
    console.error = () => {}
    try {
      const response = await broken.request('/v1/jobs/a')
      expect(response.status).toBe(500)
      expect(await response.json()).toMatchObject({ error: { code: 'internal' } })
    } finally {
      console.error = original
    }
  })
})

function hubWatch() {
  return () => Promise.reject(new Error('unused'))
}

describe('GET /v1/jobs/:id', () => {
  it('404 job_not_found for an unknown job', async () => {
    const { app } = setup()
    const response = await app.request('/v1/jobs/unknown')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { code: 'job_not_found' } })
  })

  it('serves the latest event with ETag, no-cache and Retry-After while running; 304 on a match', async () => {
    const { app } = setup({ pollRetryAfterSeconds: 2 })
    await bus.publish({ id: 'p', status: 'active', progress: 5, data: { list: [] } })
    const response = await app.request('/v1/jobs/p')
    expect(response.status).toBe(200)
    const body = (await response.json()) as { seq: number; data: unknown }
    expect(body.data).toEqual({ list: [] })
    expect(response.headers.get('etag')).toBe(`"${body.seq}"`)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('retry-after')).toBe('2')
    const cached = await app.request('/v1/jobs/p', { headers: { 'if-none-match': `"${body.seq}"` } })
    expect(cached.status).toBe(304)
    expect(cached.headers.get('etag')).toBe(`"${body.seq}"`)
    expect(await cached.text()).toBe('')
    expect((await app.request('/v1/jobs/p', { headers: { 'if-none-match': `W/"1", "${body.seq}"` } })).status).toBe(304)
    expect((await app.request('/v1/jobs/p', { headers: { 'if-none-match': '"1"' } })).status).toBe(200)
    // A poller holding a newer seq than the snapshot (an earlier event restored after Redis lost
    // its data, before the latest came back) is never sent the older event.
    expect((await app.request('/v1/jobs/p', { headers: { 'if-none-match': `"${body.seq + 1000}"` } })).status).toBe(304)
    expect((await app.request('/v1/jobs/p', { headers: { 'if-none-match': '"not-a-seq"' } })).status).toBe(200)
    await bus.publish({ id: 'p', status: 'completed' })
    const changed = await app.request('/v1/jobs/p', { headers: { 'if-none-match': `"${body.seq}"` } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('retry-after')).toBeNull()
  })
})

describe('authorization', () => {
  const seen: (string | undefined)[] = []
  const authorizer: Authorizer = {
    open: false,
    async authorize(jobId, token) {
      seen.push(token)
      if (token === undefined) return { ok: false, code: 'unauthorized', message: '[jobcast] no token' }
      if (token !== `t-${jobId}`) return { ok: false, code: 'forbidden', message: '[jobcast] other job' }
      return { ok: true }
    },
  }

  it('checks the token from the header or ?token= before anything is sent', async () => {
    const { app } = setup({ authorizer })
    await bus.publish({ id: 'a', status: 'active' })
    for (const path of ['/v1/jobs/a', '/v1/jobs/a/events', '/v1/events?id=a']) {
      const none = await app.request(path)
      expect(none.status).toBe(401)
      expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } })
      const wrong = await app.request(path, { headers: { authorization: 'Bearer t-b' } })
      expect(wrong.status).toBe(403)
      expect(await wrong.json()).toMatchObject({ error: { code: 'forbidden' } })
    }
    expect((await app.request('/v1/jobs/a', { headers: { authorization: 'Bearer t-a' } })).status).toBe(200)
    expect((await app.request('/v1/jobs/a?token=t-a')).status).toBe(200)
    const stream = await app.request('/v1/jobs/a/events?token=t-a')
    expect(stream.status).toBe(200)
    await stream.body?.cancel()
  })
})

describe('SSE', () => {
  it('writes the opening comment, retry, subscribed, then the snapshot, with anti-buffering headers', async () => {
    const { app } = setup({ sseRetryMs: 1500 })
    await bus.publish({ id: 's', status: 'active' })
    const response = await app.request('/v1/jobs/s/events')
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    const text = await readUntil(response, '"status":"active"')
    expect(text).toMatch(/^: ok\n\nretry: 1500\n\nevent: subscribed\ndata: \{"id":"s","exists":true\}\n\nid: (\d+)\ndata: \{"seq":\1,"id":"s","status":"active","ts":\d+\}\n\n$/)
  })

  it('sends heartbeats and frees the hub watch when the client goes away', async () => {
    const { app, registry } = setup({ heartbeatMs: 20 })
    const response = await app.request('/v1/jobs/h/events')
    const text = await readUntil(response, ': ping')
    expect(text).toContain('event: subscribed\ndata: {"id":"h","exists":false}')
    await new Promise((r) => setTimeout(r, 10))
    expect(hub.watchedJobs).toBe(0)
    expect(registry.size).toBe(0)
  })

  it('answers 204 when the cursor already covers the terminal event (header or ?lastEventId=)', async () => {
    const { app } = setup()
    await bus.publish({ id: 'd', status: 'active' })
    const done = await bus.publish({ id: 'd', status: 'completed' })
    if (!done.published) throw new Error('refused')
    const seq = String(done.event.seq)
    expect((await app.request('/v1/jobs/d/events', { headers: { 'last-event-id': seq } })).status).toBe(204)
    expect((await app.request(`/v1/jobs/d/events?lastEventId=${seq}`)).status).toBe(204)
    expect((await app.request(`/v1/events?id=d`, { headers: { 'last-event-id': seq } })).status).toBe(204)
  })

  it('multi-job: one subscribed per job, cursor ids in query order, ends after every terminal', async () => {
    const { app } = setup()
    const a = await bus.publish({ id: 'a', status: 'completed' })
    const b = await bus.publish({ id: 'b', status: 'failed', error: { message: 'x' } })
    if (!a.published || !b.published) throw new Error('refused')
    const response = await app.request('/v1/events?id=a&id=b')
    const text = await new Response(response.body).text()
    expect(text).toContain('event: subscribed\ndata: {"id":"a","exists":true}')
    expect(text).toContain('event: subscribed\ndata: {"id":"b","exists":true}')
    const ids = [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1])
    expect(ids.at(-1)).toBe(`${a.event.seq},${b.event.seq}`)
    expect(ids).toHaveLength(2)
    // Resume with a cursor covering only a: b's terminal again, not a's.
    const resumed = await app.request('/v1/events?id=a&id=b', { headers: { 'last-event-id': `${a.event.seq},0` } })
    const again = await new Response(resumed.body).text()
    expect([...again.matchAll(/^id: (.*)$/gm)].map((m) => m[1])).toEqual([`${a.event.seq},${b.event.seq}`])
    expect(again).not.toContain('"id":"a","status"')
    expect((await app.request('/v1/events?id=a&id=b', { headers: { 'last-event-id': `${a.event.seq},${b.event.seq}` } })).status).toBe(204)
  })

  it('ends the stream with token_expired when the grant ends', async () => {
    const authorizer: Authorizer = { open: false, authorize: async () => ({ ok: true, expiresAt: Date.now() + 80 }) }
    const { app } = setup({ authorizer })
    const response = await app.request('/v1/jobs/e/events?token=x')
    const text = await new Response(response.body).text()
    expect(text).toMatch(/event: error\ndata: \{"code":"token_expired","message":"\[jobcast\] [^"]+","id":"e"\}\n\n$/)
    expect(hub.watchedJobs).toBe(0)
  })

  it('refuses new streams with 503 shutting_down once shutdown began and ends live ones', async () => {
    const { app, registry } = setup()
    const response = await app.request('/v1/jobs/x/events')
    const body = new Response(response.body).text()
    await new Promise((r) => setTimeout(r, 20))
    registry.shutdownAll()
    expect(await body).toContain('event: subscribed')
    const late = await app.request('/v1/jobs/x/events')
    expect(late.status).toBe(503)
    expect(await late.json()).toMatchObject({ error: { code: 'shutting_down' } })
  })
})
