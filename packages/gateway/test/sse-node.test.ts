/**
 * The SSE fast path (routes/sse-node.ts) against the hono routes it stands in for: two
 * gateways on one bus, same authorizer and limits, one serving SSE below hono (the default)
 * and one through hono (it has `beforeRoutes`). Every request gets the same answer from both.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer } from '../src/auth/jwt-authorizer.js'
import { signJobToken } from '../src/auth/sign-job-token.js'
import { createMemoryBus } from '../src/bus/memory-bus.js'
import { createSecurityHooks } from '../src/limits/security-hooks.js'
import { startGateway, type TestGateway } from '../../../test/support/gateway.js'

const SECRET = 'sse-fast-path-secret-0123456789abcdef'
const APP = 'https://app.example.com'
const bus = createMemoryBus()
let fast: TestGateway
let viaHono: TestGateway
let honoMiddlewareCalls = 0
let token: string
let completedSeq = 0

const limits = { corsOrigins: [APP], maxSsePerIp: 3, subscribeRatePerSec: 0.001, subscribeBurst: 1000 }

beforeAll(async () => {
  const authorizer = createJwtAuthorizer({ secret: SECRET })
  fast = await startGateway({ bus, authorizer, security: createSecurityHooks(limits) })
  viaHono = await startGateway({
    bus,
    authorizer,
    security: createSecurityHooks(limits),
    beforeRoutes: (app) =>
      app.use('*', async (_c, next) => {
        honoMiddlewareCalls++
        await next()
      }),
  })
  token = await signJobToken({ secret: SECRET, jobs: ['p:*'], expiresIn: '10m' })
  await bus.publish({ id: 'p:live', status: 'active', progress: 10 })
  await bus.publish({ id: 'p:done', status: 'queued' })
  const done = await bus.publish({ id: 'p:done', status: 'completed', result: { downloadUrl: 'https://files.example.com/x.csv' } })
  if (done.published) completedSeq = done.event.seq
})
afterAll(async () => {
  await fast?.close()
  await viaHono?.close()
  await bus.close()
})

interface Answer {
  status: number
  headers: Record<string, string | undefined>
  /** The body; for a stream, what arrived up to and including `untilText`. */
  body: string
}

const COMPARED_HEADERS = ['content-type', 'cache-control', 'retry-after', 'access-control-allow-origin', 'access-control-expose-headers', 'vary', 'x-accel-buffering']

/** A raw GET (the path is sent as written: no client-side URL normalisation). */
function get(gw: TestGateway, path: string, headers: Record<string, string> = {}, untilText?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path, headers, agent: false }, (res) => {
      let body = ''
      const answer = (): void => {
        const picked: Record<string, string | undefined> = {}
        for (const name of COMPARED_HEADERS) picked[name] = res.headers[name] as string | undefined
        resolve({ status: res.statusCode ?? 0, headers: picked, body })
      }
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        if (untilText !== undefined && body.includes(untilText)) {
          answer()
          req.destroy()
        }
      })
      res.on('end', answer)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The same request to both gateways, one after the other. */
async function both(path: string, headers?: Record<string, string>, untilText?: string): Promise<[Answer, Answer]> {
  const a = await get(fast, path, headers, untilText)
  const b = await get(viaHono, path, headers, untilText)
  return [a, b]
}

describe('SSE fast path', () => {
  it('is what serves SSE by default, and hono serves it when the gateway has middleware', async () => {
    const before = honoMiddlewareCalls
    await both(`/v1/jobs/p:live/events?token=${token}`, {}, '"progress":10')
    // Only the hono gateway's middleware saw the request.
    expect(honoMiddlewareCalls).toBe(before + 1)
  })

  const cases: [string, string, Record<string, string>?][] = [
    ['invalid id in the path', '/v1/jobs/bad%20id/events'],
    ['undecodable id', '/v1/jobs/a%zz/events'],
    ['no token', '/v1/jobs/p:live/events'],
    ['token for other jobs', '/v1/jobs/q:1/events?token=TOKEN'],
    ['garbage token in the header', '/v1/jobs/p:live/events', { authorization: 'Bearer garbage' }],
    ['bad cursor', '/v1/jobs/p:live/events?token=TOKEN', { 'last-event-id': 'x' }],
    ['bad cursor in the query', '/v1/jobs/p:live/events?token=TOKEN&lastEventId=-1'],
    ['no ids', '/v1/events?token=TOKEN'],
    ['an id twice', '/v1/events?id=p:a&id=p:a&token=TOKEN'],
    ['a bad id among several', '/v1/events?id=p:a&id=*&token=TOKEN'],
    ['multi-job cursor of the wrong length', '/v1/events?id=p:a&id=p:b&token=TOKEN', { 'last-event-id': '1' }],
    ['terminal cursor: 204', '/v1/jobs/p:done/events?token=TOKEN', { 'last-event-id': 'SEQ' }],
    ['terminal cursor, multi-job: 204', '/v1/events?id=p:done&token=TOKEN&lastEventId=SEQ'],
    ['disallowed origin', '/v1/jobs/p:live/events', { origin: 'https://evil.example.com' }],
    ['allowed origin, error', '/v1/jobs/p:live/events', { origin: APP }],
    ['dot segment resolving to /v1/events', '/v1/jobs/../events?token=TOKEN'],
    ['encoded dot segment', '/v1/jobs/%2e%2e/events?token=TOKEN'],
    ['trailing slash', '/v1/jobs/p:live/events/'],
    ['unknown route', '/v1/jobs/p:live/event'],
  ]
  it.each(cases)('answers like hono: %s', async (_name, rawPath, rawHeaders = {}) => {
    const fill = (s: string): string => s.replace('TOKEN', token).replace('SEQ', String(completedSeq))
    const headers = Object.fromEntries(Object.entries(rawHeaders).map(([k, v]) => [k, fill(v)]))
    const [a, b] = await both(fill(rawPath), headers)
    expect(a.status).toBeGreaterThanOrEqual(200)
    expect(a).toEqual(b)
  })

  it('streams the same frames with the same headers', async () => {
    const headers = { origin: APP }
    const [a, b] = await both(`/v1/events?id=p:live&id=p:done&token=${token}`, headers, 'downloadUrl')
    expect(a.status).toBe(200)
    expect(a.headers['access-control-allow-origin']).toBe(APP)
    expect(a).toEqual(b)
    const [c, d] = await both(`/v1/jobs/p:done/events`, { authorization: `Bearer ${token}` }, 'downloadUrl')
    expect(c.body).toMatch(/^: ok\n\nretry: 2000\n\nevent: subscribed\ndata: \{"id":"p:done","exists":true\}\n\nid: \d+\ndata: \{.*"status":"completed"/)
    expect(c).toEqual(d)
  })

  it('applies the streams-per-IP cap and gives the slots back on close', async () => {
    for (const gw of [fast, viaHono]) {
      const open = await Promise.all([1, 2, 3].map(() => openStream(gw)))
      const refused = await get(gw, `/v1/jobs/p:live/events?token=${token}`)
      expect(refused.status).toBe(429)
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'too_many_connections' } })
      expect(refused.headers['retry-after']).toBe('1')
      for (const close of open) close()
      // Slots come back once the server sees the closes.
      let again: Answer | undefined
      for (let i = 0; i < 50 && again?.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 20))
        again = await get(gw, `/v1/jobs/p:live/events?token=${token}`, {}, '"progress":10')
      }
      expect(again?.status).toBe(200)
    }
  })

  function openStream(gw: TestGateway): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: `/v1/jobs/p:live/events?token=${token}`, agent: false }, (res) => {
        expect(res.statusCode).toBe(200)
        resolve(() => req.destroy())
      })
      req.on('error', reject)
      req.end()
    })
  }
})

describe('SSE fast path rate limit', () => {
  it('refuses past the subscription burst like hono, counting one token per job of a multi-job stream', async () => {
    const tight = { subscribeRatePerSec: 0.001, subscribeBurst: 3, maxSsePerIp: 0 }
    const authorizer = createJwtAuthorizer({ secret: SECRET })
    const a = await startGateway({ bus, authorizer, security: createSecurityHooks(tight) })
    const b = await startGateway({ bus, authorizer, security: createSecurityHooks(tight), beforeRoutes: () => {} })
    try {
      for (const gw of [a, b]) {
        // 3 ids take the whole burst (the answer itself is a 400: the id is listed twice).
        const first = await get(gw, `/v1/events?id=p:x&id=p:y&id=p:x&token=${token}`)
        expect(first.status).toBe(400)
        const second = await get(gw, `/v1/jobs/p:live/events?token=${token}`)
        expect(second.status).toBe(429)
        expect(JSON.parse(second.body)).toMatchObject({ error: { code: 'rate_limited' } })
      }
      const [x, y] = [await get(a, `/v1/jobs/p:live/events?token=${token}`), await get(b, `/v1/jobs/p:live/events?token=${token}`)]
      expect(x).toEqual(y)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
