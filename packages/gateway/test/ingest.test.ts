import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signJobToken } from '../src/auth/sign-job-token.js'
import { parseConfig } from '../src/config.js'
import { gatewayOptionsFromConfig } from '../src/cli-options.js'
import { openAuthorizer } from '../src/auth/authorizer.js'
import { startGateway, type TestGateway } from '../../../test/support/gateway.js'
import { DRIVERS } from '../../../test/support/transports.js'

const PRODUCER_SECRET = 'ingest-test-producer-secret-at-least-32-bytes'
const BROWSER_SECRET = 'ingest-test-browser-secret-at-least-32-bytes!'

const producerToken = (publish: string[], secret = PRODUCER_SECRET) =>
  new SignJWT({ publish }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret))

let gw: TestGateway
let off: TestGateway
beforeAll(async () => {
  gw = await startGateway({ producerSecret: PRODUCER_SECRET })
  off = await startGateway()
})
afterAll(async () => {
  await gw?.close()
  await off?.close()
})

function post(base: TestGateway, id: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${base.url}/v1/jobs/${id}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
}
const event = (id: string, fields: Record<string, unknown> = {}) => JSON.stringify({ id, status: 'active', ts: 1764287374120, ...fields })

describe('POST /v1/jobs/:id/events', () => {
  it('is off unless a producer secret is configured', async () => {
    const response = await post(off, 'off-1', event('off-1'), { authorization: `Bearer ${await producerToken(['off-1'])}` })
    expect(response.status).toBe(405)
  })

  it('answers 202 with the seq, and a watching client receives the event', async () => {
    const watcher = await DRIVERS.websocket(gw, 'in-1')
    const response = await post(gw, 'in-1', event('in-1', { progress: 40, message: 'from a function' }), { authorization: `Bearer ${await producerToken(['in-1'])}` })
    expect(response.status).toBe(202)
    const body = (await response.json()) as { published: boolean; seq: number }
    expect(body).toEqual({ published: true, seq: expect.any(Number) })
    const received = await watcher.events.until(() => watcher.events.items.find((e) => e.progress === 40))
    expect(received.seq).toBe(body.seq)
    watcher.close()
  })

  it('answers 409 after a terminal event', async () => {
    const auth = { authorization: `Bearer ${await producerToken(['user-9:*'])}` }
    expect((await post(gw, 'user-9:job', event('user-9:job', { status: 'completed' }), auth)).status).toBe(202)
    const refused = await post(gw, 'user-9:job', event('user-9:job', { ts: 2 }), auth)
    expect(refused.status).toBe(409)
    expect(await refused.json()).toMatchObject({ published: false, reason: 'terminal' })
  })

  it.each([
    ['no token', {}, 401, 'unauthorized'],
    ['a token in the query only', { query: true }, 401, 'unauthorized'],
    ["a browser's job token", { browser: true }, 401, 'unauthorized'],
    ['a token signed with another secret', { other: true }, 401, 'unauthorized'],
    ['a token for another job', { job: 'someone-else' }, 403, 'forbidden'],
  ] as const)('refuses %s', async (_name, how, status, code) => {
    const id = 'auth-1'
    const token =
      'browser' in how
        ? await signJobToken({ jobs: [id], expiresIn: 60, secret: PRODUCER_SECRET })
        : await producerToken(['job' in how ? how.job : id], 'other' in how ? BROWSER_SECRET : PRODUCER_SECRET)
    const response =
      'query' in how
        ? await fetch(`${gw.url}/v1/jobs/${id}/events?token=${token}`, { method: 'POST', body: event(id) })
        : await post(gw, id, event(id), Object.keys(how).length === 0 ? {} : { authorization: `Bearer ${token}` })
    expect(response.status).toBe(status)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code)
  })

  it('refuses a body over the limit with 413 before reading it all', async () => {
    const big = event('big-1', { message: 'x'.repeat(300_000) })
    const response = await post(gw, 'big-1', big, { authorization: `Bearer ${await producerToken(['big-1'])}` })
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_event', message: expect.stringMatching(/larger than 262144 bytes/) })
  })
})

describe('--producer-secret', () => {
  it('comes from the flag or JOBCAST_PRODUCER_SECRET and turns ingest on', () => {
    expect(parseConfig([], { JOBCAST_PRODUCER_SECRET: PRODUCER_SECRET }).producerSecret).toBe(PRODUCER_SECRET)
    expect(gatewayOptionsFromConfig(parseConfig(['--producer-secret', PRODUCER_SECRET]), openAuthorizer).producerSecret).toBe(PRODUCER_SECRET)
    expect(gatewayOptionsFromConfig(parseConfig([]), openAuthorizer).producerSecret).toBeUndefined()
  })

  it("may not be the browsers' secret", () => {
    expect(() => parseConfig(['--secret', BROWSER_SECRET, '--producer-secret', BROWSER_SECRET])).toThrow(/--producer-secret equals --secret/)
  })
})
