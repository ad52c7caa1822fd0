/**
 * Every transport × every way a token can be wrong, against a real gateway on a real
 * socket: polling, SSE (one job), SSE (several jobs), WebSocket with the token on the
 * upgrade, WebSocket with the token in the subscribe frame. Each bad case must be refused
 * with its code, each good case must deliver the job — so the suite fails if auth is off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { openSse, openWs } from '../support/clients.js'
import { attackCases, AUDIENCE, ISSUER, mint, SECRET, type AttackCase } from './tokens.js'

const JOB = 'user-42:export-1'
const OTHER = `${JOB}-other`
let gw: TestGateway
let cases: AttackCase[]

beforeAll(async () => {
  gw = await startGateway({ authorizer: createJwtAuthorizer({ secret: SECRET, audience: AUDIENCE, issuer: ISSUER, clockToleranceSec: 0 }) })
  await gw.gateway.bus.publish({ id: JOB, status: 'active', progress: 10, data: { secret: 'only-for-user-42' } })
  await gw.gateway.bus.publish({ id: OTHER, status: 'active' })
  cases = await attackCases(JOB)
})
afterAll(() => gw?.close())

const q = (token: string | undefined): string => (token === undefined ? '' : `?token=${encodeURIComponent(token)}`)
const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` })

async function expectError(res: Response, c: AttackCase): Promise<void> {
  expect(res.status, c.name).toBe(c.status)
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(body.error.code, c.name).toBe(c.code)
  expect(JSON.stringify(body)).not.toContain('only-for-user-42')
}

async function wsError(url: string, frame: Record<string, unknown>): Promise<{ code?: string; id?: string; leaked: boolean }> {
  const ws = await openWs(url)
  ws.send({ type: 'subscribe', id: JOB, ...frame })
  const error = await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'error' || f.type === 'job'), 3_000, 'error frame')
  ws.close()
  return { code: error.code, id: error.id, leaked: ws.frames.items.some((f) => f.type === 'job' || f.type === 'subscribed') }
}

describe.each(['header', 'query'] as const)('polling GET /v1/jobs/:id, token in %s', (where) => {
  it('refuses every bad token with its code and leaks nothing', async () => {
    for (const c of cases) {
      const res = await fetch(`${gw.url}/v1/jobs/${JOB}${where === 'query' ? q(c.token) : ''}`, { headers: where === 'header' ? bearer(c.token) : {} })
      await expectError(res, c)
    }
  })

  it('serves the job to a valid token', async () => {
    const token = await mint({ jobs: ['user-42:*'] })
    const res = await fetch(`${gw.url}/v1/jobs/${JOB}${where === 'query' ? q(token) : ''}`, { headers: where === 'header' ? bearer(token) : {} })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { id: string }).id).toBe(JOB)
  })
})

describe.each(['header', 'query'] as const)('SSE GET /v1/jobs/:id/events, token in %s', (where) => {
  it('refuses every bad token before the stream starts', async () => {
    for (const c of cases) {
      const res = await fetch(`${gw.url}/v1/jobs/${JOB}/events${where === 'query' ? q(c.token) : ''}`, { headers: where === 'header' ? bearer(c.token) : {} })
      expect(res.headers.get('content-type')).toMatch(/json/)
      await expectError(res, c)
    }
  })

  it('streams the job to a valid token', async () => {
    const token = await mint({ jobs: [JOB] })
    const sse = await openSse(`${gw.url}/v1/jobs/${JOB}/events${where === 'query' ? q(token) : ''}`, where === 'header' ? bearer(token) : {})
    await sse.items.until(() => sse.jobs().find((j) => j.id === JOB), 3_000, 'snapshot')
    sse.close()
  })
})

describe.each(['header', 'query'] as const)('SSE GET /v1/events?id=…, token in %s', (where) => {
  it('refuses every bad token, and a token granting only some of the jobs', async () => {
    for (const c of cases) {
      const sep = where === 'query' && c.token !== undefined ? `&token=${encodeURIComponent(c.token)}` : ''
      const res = await fetch(`${gw.url}/v1/events?id=${encodeURIComponent(JOB)}${sep}`, { headers: where === 'header' ? bearer(c.token) : {} })
      await expectError(res, c)
    }
    const onlyOne = await mint({ jobs: [OTHER] })
    const res = await fetch(`${gw.url}/v1/events?id=${encodeURIComponent(OTHER)}&id=${encodeURIComponent(JOB)}`, { headers: bearer(onlyOne) })
    await expectError(res, { name: 'grants one of two', token: onlyOne, status: 403, code: 'forbidden' })
  })

  it('streams both jobs to a token granting both', async () => {
    const token = await mint({ jobs: [JOB, OTHER] })
    const sse = await openSse(`${gw.url}/v1/events?id=${encodeURIComponent(JOB)}&id=${encodeURIComponent(OTHER)}${where === 'query' ? `&token=${encodeURIComponent(token)}` : ''}`, where === 'header' ? bearer(token) : {})
    await sse.items.until(() => (sse.jobs().length >= 2 ? true : undefined), 3_000, 'two snapshots')
    sse.close()
  })
})

describe('WebSocket, token on the upgrade (?token=)', () => {
  it('refuses every bad token per subscription, with its code', async () => {
    for (const c of cases) {
      const result = await wsError(`${gw.wsUrl}${q(c.token)}`, {})
      expect(result, c.name).toEqual({ code: c.code, id: JOB, leaked: false })
    }
  })
})

describe('WebSocket, token in the subscribe frame', () => {
  it('refuses every bad token per subscription, with its code', async () => {
    for (const c of cases) {
      const frame = c.token === undefined ? {} : { token: c.token }
      const result = await wsError(gw.wsUrl, frame)
      expect(result, c.name).toEqual({ code: c.code, id: JOB, leaked: false })
    }
  })

  it('a bad frame token is not rescued by a good upgrade token', async () => {
    const good = await mint({ jobs: [JOB] })
    expect(await wsError(`${gw.wsUrl}${q(good)}`, { token: 'garbage' })).toMatchObject({ code: 'unauthorized', leaked: false })
  })

  it('carries jobs authorized by different tokens on one socket, and a refusal ends only its subscription', async () => {
    const ws = await openWs(`${gw.wsUrl}${q(await mint({ jobs: [JOB] }))}`)
    ws.send({ type: 'subscribe', id: JOB })
    ws.send({ type: 'subscribe', id: OTHER, token: await mint({ jobs: [OTHER] }) })
    ws.send({ type: 'subscribe', id: 'user-7:x', token: await mint({ jobs: [JOB] }) })
    await ws.frames.until(() => (ws.jobs(JOB).length > 0 && ws.jobs(OTHER).length > 0 ? true : undefined), 3_000, 'both jobs')
    const refused = await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'error' && f.id === 'user-7:x'), 3_000, 'refusal')
    expect(refused.code).toBe('forbidden')
    await gw.gateway.bus.publish({ id: JOB, status: 'active', progress: 50 })
    await ws.frames.until(() => ws.jobs(JOB).find((j) => (j as { progress?: number }).progress === 50), 3_000, 'live event after a refusal')
    ws.close()
  })
})

describe('no existence oracle', () => {
  it('answers 403 for a job the token does not grant whether or not it exists, and 404 only to its owner', async () => {
    const token = await mint({ jobs: [OTHER] })
    const existing = await fetch(`${gw.url}/v1/jobs/${JOB}`, { headers: bearer(token) })
    const missing = await fetch(`${gw.url}/v1/jobs/user-42:never-published`, { headers: bearer(token) })
    expect([existing.status, missing.status]).toEqual([403, 403])
    const owner = await fetch(`${gw.url}/v1/jobs/user-42:never-published`, { headers: bearer(await mint({ jobs: ['user-42:*'] })) })
    expect(owner.status).toBe(404)
    const anonymous = await fetch(`${gw.url}/v1/jobs/user-42:never-published`)
    expect(anonymous.status).toBe(401)
  })
})
