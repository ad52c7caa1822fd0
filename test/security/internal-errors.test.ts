/**
 * An unexpected failure inside the gateway (here Redis refusing a command: a job's snapshot
 * key holds a list) is answered with a generic `internal` error carrying a short id, over
 * polling, SSE and WebSocket alike; the detail goes to the log once, under that id, and
 * never to the client.
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

const GENERIC = /^\[jobcast\] internal error, id ([0-9a-f]{8})\b/

/** A job whose snapshot key has the wrong type, and a token for it. */
async function brokenJob(name: string): Promise<{ id: string; token: string }> {
  const id = `user-1:${name}`
  await raw.rpush(`${prefix}job:{${id}}`, 'not a snapshot')
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
