/**
 * Every subscription reads a snapshot, so subscribe/unsubscribe in a loop (or reopening SSE
 * streams) must not be a way around the polling rate limit: one per-IP subscription bucket
 * covers WebSocket subscribe frames and SSE stream opens (issue 4, "not bypassable").
 */
import WebSocket from 'ws'
import { afterEach, expect, it } from 'vitest'
import { openAuthorizer } from '../src/auth/authorizer.js'
import { createGateway, type Gateway } from '../src/create-gateway.js'
import { createRateLimiter } from '../src/admission/rate-limiter.js'

let gateway: Gateway | undefined
const sockets: WebSocket[] = []
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await gateway?.close()
})

it('charges a cost in one go, never above the burst', () => {
  const t = 0
  const r = createRateLimiter({ ratePerSec: 1, burst: 3, now: () => t })
  expect(r.take('ip', 2).ok).toBe(true)
  expect(r.take('ip', 2)).toEqual({ ok: false, retryAfterSec: 1 })
  expect(r.take('ip').ok).toBe(true)
  expect(r.take('ip').ok).toBe(false)
  expect(r.take('other', 50).ok).toBe(true) // charged as the whole burst
  expect(r.take('other').ok).toBe(false)
})

it('limits subscriptions per IP across WebSocket subscribes and SSE stream opens', async () => {
  gateway = createGateway({ authorizer: openAuthorizer, warnOpenMode: false, security: { subscribeRatePerSec: 0.01, subscribeBurst: 3 } })
  const { url } = await gateway.listen(0, '127.0.0.1')
  await gateway.bus.publish({ id: 'a', status: 'active' })

  const sse = new AbortController()
  const first = await fetch(`${url}/v1/jobs/a/events`, { signal: sse.signal })
  expect(first.status).toBe(200)
  sse.abort()

  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`)
  sockets.push(ws)
  const frames: { type: string; id?: string; code?: string }[] = []
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { type: string }))
  await new Promise((resolve) => ws.once('open', resolve))
  for (const id of ['a', 'b', 'c']) ws.send(JSON.stringify({ type: 'subscribe', id }))
  const deadline = Date.now() + 5_000
  while (!frames.some((f) => f.type === 'error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  expect(frames.filter((f) => f.type === 'subscribed').map((f) => f.id).sort()).toEqual(['a', 'b'])
  expect(frames.find((f) => f.type === 'error')).toMatchObject({ id: 'c', code: 'rate_limited' })

  const refused = await fetch(`${url}/v1/events?id=a&id=b`)
  expect(refused.status).toBe(429)
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
  expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining('--subscribe-rate') } })
})
