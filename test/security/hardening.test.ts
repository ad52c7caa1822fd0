/**
 * Browser-facing hardening against a real gateway: token expiry mid-stream, CORS preflight
 * with Authorization, cross-site WebSocket hijacking, per-IP limits that more sockets
 * cannot bypass, the polling rate limit, and forged X-Forwarded-For.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { createSecurityHooks, type SecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { openSse, openWs } from '../support/clients.js'
import { AUDIENCE, ISSUER, mint, SECRET } from './tokens.js'
import { tryUpgrade, upgradeStatus as upgradeTo } from './upgrade.js'

const APP = 'https://app.example.com'
let gw: TestGateway
let hooks: SecurityHooks

beforeAll(async () => {
  hooks = createSecurityHooks({ corsOrigins: [APP], maxConnectionsPerIp: 3, maxSsePerIp: 2, pollRatePerSec: 5, pollBurst: 5 })
  gw = await startGateway({
    authorizer: createJwtAuthorizer({ secret: SECRET, audience: AUDIENCE, issuer: ISSUER, clockToleranceSec: 0 }),
    security: hooks,
  })
})
afterAll(() => gw?.close())

const upgradeStatus = (headers: Record<string, string>): Promise<number> => upgradeTo(gw.wsUrl, headers)

describe('token expiry mid-stream', () => {
  it('ends the SSE stream and the WebSocket subscription with token_expired, after delivering events', async () => {
    const id = 'user-1:expiring'
    await gw.gateway.bus.publish({ id, status: 'active', progress: 1 })
    const exp = Math.floor(Date.now() / 1000) + 2
    const token = await mint({ jobs: [id], exp })
    const sse = await openSse(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
    const ws = await openWs(`${gw.wsUrl}?token=${token}`)
    ws.send({ type: 'subscribe', id })
    await ws.frames.until(() => ws.jobs(id)[0], 3_000, 'ws snapshot')
    await gw.gateway.bus.publish({ id, status: 'active', progress: 2 })
    await sse.items.until(() => sse.jobs().find((j) => j.progress === 2), 3_000, 'sse live event')
    await ws.frames.until(() => ws.jobs(id).find((j) => (j as { progress?: number }).progress === 2), 3_000, 'ws live event')
    const wsExpired = await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'error'), 4_000, 'ws token_expired')
    expect(wsExpired).toMatchObject({ code: 'token_expired', id })
    await sse.ended
    const sseError = sse.items.items.find((i) => i.kind === 'event' && i.message.event === 'error')
    expect(sseError?.kind === 'event' && JSON.parse(sseError.message.data)).toMatchObject({ code: 'token_expired' })
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000)
    // After expiry nothing more reaches the WebSocket for that job.
    await gw.gateway.bus.publish({ id, status: 'active', progress: 3 })
    ws.send({ type: 'ping' })
    await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'pong'), 2_000, 'pong')
    expect(ws.jobs(id).some((j) => (j as { progress?: number }).progress === 3)).toBe(false)
    ws.close()
  })
})

describe('long-lived tokens', () => {
  it('a token expiring in 60 days (past the setTimeout range) does not end the subscription early', async () => {
    const id = 'user-1:long-lived'
    await gw.gateway.bus.publish({ id, status: 'active', progress: 1 })
    const token = await mint({ jobs: [id], exp: Math.floor(Date.now() / 1000) + 60 * 86_400 })
    const ws = await openWs(`${gw.wsUrl}?token=${token}`)
    ws.send({ type: 'subscribe', id })
    await ws.frames.until(() => ws.jobs(id)[0], 3_000, 'snapshot')
    await new Promise((r) => setTimeout(r, 50))
    await gw.gateway.bus.publish({ id, status: 'active', progress: 2 })
    await ws.frames.until(() => ws.jobs(id)[1], 3_000, 'live event')
    expect(ws.frames.items.filter((f) => f.type === 'error')).toEqual([])
    ws.close()
  })
})

describe('CORS', () => {
  it('answers a preflight for Authorization from an allowed origin, and not for a foreign one', async () => {
    const preflight = (origin: string) =>
      fetch(`${gw.url}/v1/jobs/a`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,last-event-id' },
      })
    const ok = await preflight(APP)
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP)
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/)
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/last-event-id/)
    const evil = await preflight('https://evil.example')
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
    const get = await fetch(`${gw.url}/v1/jobs/a`, { headers: { origin: 'https://evil.example' } })
    expect(get.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('cross-site WebSocket hijacking', () => {
  it('refuses an upgrade from a foreign Origin with 403 before upgrading', async () => {
    expect(await upgradeStatus({ origin: 'https://evil.example' })).toBe(403)
    expect(await upgradeStatus({ origin: 'https://app.example.com.evil.example' })).toBe(403)
    expect(await upgradeStatus({ origin: 'null' })).toBe(403)
    expect(await upgradeStatus({ origin: APP })).toBe(101)
    expect(await upgradeStatus({})).toBe(101) // no Origin: not a browser
  })
})

describe('per-IP limits', () => {
  it('caps WebSockets per IP however many are opened, and frees slots when they close', async () => {
    const attempts = await Promise.all(Array.from({ length: 10 }, () => tryUpgrade(gw.wsUrl)))
    const results = attempts.map((a) => a.status)
    const open = attempts.flatMap((a) => (a.ws ? [a.ws] : []))
    expect(results.filter((s) => s === 101)).toHaveLength(3)
    expect(results.filter((s) => s === 429)).toHaveLength(7)
    expect(hooks.wsConnections.count('127.0.0.1')).toBe(3)
    await Promise.all(open.map((ws) => new Promise((r) => (ws.once('close', r), ws.close()))))
    await expect.poll(() => hooks.wsConnections.count('127.0.0.1')).toBe(0)
    expect(await upgradeStatus({})).toBe(101)
  })

  it('ignores a forged X-Forwarded-For (no trusted proxy)', async () => {
    const open = await Promise.all([openWs(gw.wsUrl), openWs(gw.wsUrl), openWs(gw.wsUrl)])
    expect(await upgradeStatus({ 'x-forwarded-for': '203.0.113.9' })).toBe(429)
    for (const ws of open) ws.close()
    await expect.poll(() => hooks.wsConnections.count('127.0.0.1')).toBe(0)
  })

  it('caps SSE streams per IP (429 too_many_connections) and frees the slot when a stream ends', async () => {
    const id = 'user-1:sse-limit'
    await gw.gateway.bus.publish({ id, status: 'active' })
    const token = await mint({ jobs: [id] })
    const a = await openSse(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
    const b = await openSse(`${gw.url}/v1/events?id=${id}&token=${token}`)
    expect([a.status, b.status]).toEqual([200, 200])
    const c = await fetch(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
    expect(c.status).toBe(429)
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe('too_many_connections')
    a.close()
    await expect.poll(() => hooks.sseConnections.count('127.0.0.1')).toBe(1)
    const d = await openSse(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
    expect(d.status).toBe(200)
    // The server ending the stream (terminal event) frees the slot too.
    await gw.gateway.bus.publish({ id, status: 'completed' })
    await Promise.all([b.ended, d.ended])
    await expect.poll(() => hooks.sseConnections.count('127.0.0.1')).toBe(0)
  })

  it('rate-limits polling with 429 rate_limited and Retry-After', async () => {
    // A gateway of its own with a bucket that does not refill within the test (0.01/s, burst 5),
    // so the count of 401s and 429s does not depend on how fast a loaded machine sends.
    const pollHooks = createSecurityHooks({ pollRatePerSec: 0.01, pollBurst: 5 })
    const pollGw = await startGateway({ authorizer: createJwtAuthorizer({ secret: SECRET }), ...pollHooks })
    onTestFinished(() => pollGw.close())
    const statuses: number[] = []
    let limited: Response | undefined
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${pollGw.url}/v1/jobs/poll-${i}`)
      statuses.push(res.status)
      if (res.status === 429) limited ??= res
      else await res.body?.cancel()
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(5) // the burst; unauthenticated, yet counted
    expect(statuses.filter((s) => s === 429)).toHaveLength(3)
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
    // The polling bucket is the polling route's only: SSE and health still answer this address.
    const sse = await fetch(`${pollGw.url}/v1/jobs/poll-0/events`)
    expect(sse.status).toBe(401)
    expect((await fetch(`${pollGw.url}/healthz`)).status).toBe(200)
  })
})

describe('hostile requests that must not pass as something else', () => {
  it('answers an oversized token with 401 and a header block over 16 KiB with 431, and stays up', async () => {
    const big = 'a'.repeat(5_000) // over the 4096-byte token limit, under Node's 16 KiB header limit
    const res = await fetch(`${gw.url}/v1/jobs/user-1:x/events`, { headers: { authorization: `Bearer ${big}` } })
    expect(res.status).toBe(401)
    const status = await new Promise<number>((resolve) => {
      const req = request(`${gw.url}/healthz`, { headers: { 'x-junk': 'x'.repeat(40_000) } }, (r) => {
        r.resume()
        resolve(r.statusCode ?? 0)
      })
      req.on('error', () => resolve(-1))
      req.end()
    })
    expect(status).toBe(431)
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
  })
})
