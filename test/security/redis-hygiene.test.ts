/**
 * Redis payload hygiene: whatever lands on a job's channel or snapshot key — garbage,
 * wrong types, another job's event, oversized blobs — is dropped and counted, never
 * crashes the gateway and never reaches clients. When Redis refuses a command outright (a
 * snapshot key holding a list), every transport answers a generic `internal` error with a
 * short id, and the detail goes to the log once, under that id, never to the client.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { openSse, openWs } from '../support/clients.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { mint, SECRET } from './tokens.js'

let redis: TestRedis
let raw: Redis
let gw: TestGateway
let prefix: string

beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  raw.on('error', () => undefined)
  await raw.connect()
  prefix = randomPrefix()
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, authorizer: createJwtAuthorizer({ secret: SECRET }) })
})
afterAll(async () => {
  await gw?.close()
  raw?.disconnect()
  await redis?.stop()
})

const key = (id: string): string => `${prefix}job:{${id}}`
const dropped = (): number => (gw.gateway.bus as unknown as { stats: { dropped: number } }).stats.dropped

describe('Redis payload hygiene', () => {
  it('drops and counts malformed and oversized channel messages; clients see only valid events', async () => {
    const id = 'user-1:hygiene'
    const token = await mint({ jobs: [id] })
    await gw.gateway.bus.publish({ id, status: 'active', progress: 1 })
    const ws = await openWs(`${gw.wsUrl}?token=${token}`)
    ws.send({ type: 'subscribe', id })
    const sse = await openSse(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
    await ws.frames.until(() => ws.jobs(id)[0], 3_000, 'ws snapshot')
    await sse.items.until(() => sse.jobs()[0], 3_000, 'sse snapshot')
    const before = dropped()
    const now = Date.now()
    const garbage = [
      'not json',
      '',
      '[]',
      'null',
      '"a string"',
      '{"seq":"9","id":"user-1:hygiene","status":"active","ts":1}',
      `{"seq":${now * 2000},"id":"user-1:other","status":"completed","ts":1}`,
      `{"seq":${now * 2000},"id":"user-1:hygiene","status":"hacked","ts":1}`,
      `{"seq":${now * 2000},"id":"user-1:hygiene","ts":1}`,
      `{"seq":-1,"id":"user-1:hygiene","status":"active","ts":1}`,
      `{"seq":${now * 2000},"id":"user-1:hygiene","status":"active","ts":1,"data":"${'x'.repeat(200_000)}"}`,
      '{"seq":1e400,"id":"user-1:hygiene","status":"active","ts":1}',
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]).toString('latin1'),
      '{'.repeat(100_000),
    ]
    for (const message of garbage) await raw.spublish(key(id), message)
    await gw.gateway.bus.publish({ id, status: 'completed', result: { ok: true } })
    await ws.frames.until(() => ws.jobs(id).find((j) => j.status === 'completed'), 3_000, 'ws terminal')
    await sse.ended
    expect(ws.jobs(id).map((j) => j.status)).toEqual(['active', 'completed'])
    expect(sse.jobs().map((j) => j.status)).toEqual(['active', 'completed'])
    expect(dropped() - before).toBeGreaterThanOrEqual(garbage.length - 1)
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
    ws.close()
  })

  it('never serves a garbage snapshot as a job', async () => {
    const id = 'user-1:bad-snapshot'
    const token = await mint({ jobs: [id] })
    await raw.set(key(id), '{"seq":1,"status":"active"')
    const res = await fetch(`${gw.url}/v1/jobs/${id}?token=${token}`)
    expect(res.status).toBe(404) // dropped, as if there were no snapshot
    expect(((await res.json()) as { error?: { code: string } }).error?.code).toBeTypeOf('string')
    await raw.set(key(id), JSON.stringify({ seq: 5, id: 'user-1:someone-else', status: 'completed', ts: 1, result: { url: 'secret' } }))
    const other = await fetch(`${gw.url}/v1/jobs/${id}?token=${token}`)
    expect(other.status).toBe(404)
    expect(await other.text()).not.toContain('secret')
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
  })
})

const GENERIC = /^\[jobcast\] internal error, id ([0-9a-f]{8})\b/

/** A job whose snapshot key has the wrong type, and a token for it. */
async function brokenJob(name: string): Promise<{ id: string; token: string }> {
  const id = `user-1:${name}`
  await raw.rpush(key(id), 'not a snapshot')
  return { id, token: await mint({ jobs: [id] }) }
}

/** Runs `answer` with console.error recorded; checks the message is generic and logged once with the detail. */
async function expectGenericAndLogged(answer: () => Promise<string | undefined>): Promise<void> {
  const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined)
  try {
    const message = await answer()
    expect(message).toMatch(GENERIC)
    expect(message).not.toMatch(/WRONGTYPE|Redis|job:/)
    const id = GENERIC.exec(message ?? '')?.[1] as string
    await expect.poll(() => logged.mock.calls.length).toBeGreaterThan(0)
    const lines = logged.mock.calls.map((args) => args.map((a) => (a instanceof Error ? `${a.message} ${String(a.cause)}` : String(a))).join(' '))
    const withId = lines.filter((line) => line.includes(id))
    expect(withId).toHaveLength(1)
    expect(withId[0]).toMatch(/WRONGTYPE/)
  } finally {
    logged.mockRestore()
  }
}

describe('internal errors', () => {
  it('polling: 500 internal with an id, detail logged', async () => {
    const { id, token } = await brokenJob('poll')
    await expectGenericAndLogged(async () => {
      const res = await fetch(`${gw.url}/v1/jobs/${id}?token=${token}`)
      expect(res.status).toBe(500)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('internal')
      return body.error.message
    })
  })

  it('SSE: an internal error with an id, detail logged', async () => {
    const { id, token } = await brokenJob('sse')
    await expectGenericAndLogged(async () => {
      const sse = await openSse(`${gw.url}/v1/jobs/${id}/events?token=${token}`)
      // The stream opens before the watch reads the snapshot: the failure comes as an `error` event.
      expect(sse.status).toBe(200)
      await sse.ended
      const error = sse.items.items.find((item) => item.kind === 'event' && item.message.event === 'error')
      const data = error?.kind === 'event' ? (JSON.parse(error.message.data) as { code: string; message: string }) : undefined
      expect(data?.code).toBe('internal')
      return data?.message
    })
  })

  it('WebSocket: an internal error frame with an id, detail logged', async () => {
    const { id, token } = await brokenJob('ws')
    await expectGenericAndLogged(async () => {
      const ws = await openWs(`${gw.wsUrl}?token=${token}`)
      ws.send({ type: 'subscribe', id })
      const frame = await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'error'), 3_000, 'error frame')
      ws.close()
      expect(frame).toMatchObject({ code: 'internal', id })
      return (frame as { message?: string }).message
    })
  })
})
