/**
 * The whole token story end to end: the backend mints with `signJobToken`, the client
 * passes it on each transport, a token that expires mid-job is refreshed through the
 * client's `token` callback and the job is followed to its end without losing events;
 * a wrong token surfaces as an auth error instead of hanging.
 */
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, waitForJob } from '@jobcast/client'
import { createJwtAuthorizer, signJobToken } from '@jobcast/gateway'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { SECRET } from './tokens.js'

let gw: TestGateway
beforeAll(async () => {
  gw = await startGateway({ authorizer: createJwtAuthorizer({ secret: SECRET, clockToleranceSec: 0 }) })
})
afterAll(() => gw?.close())

const WS = WebSocket as unknown as NonNullable<Parameters<typeof createClient>[0]['WebSocket']>

describe.each(['websocket', 'sse', 'polling'] as const)('client over %s', (transport) => {
  it('refreshes an expiring token through its callback and follows the job to the end', async () => {
    const id = `user-9:${transport}-refresh`
    await gw.gateway.bus.publish({ id, status: 'active', progress: 0 })
    const issued: number[] = []
    const token = async (jobId: string): Promise<string> => {
      // The first token dies 1–2 s in (exp has whole-second precision), mid-job; later ones last.
      const short = issued.length === 0
      issued.push(Date.now())
      return short
        ? signJobToken({ jobs: [jobId], expiresIn: 2, secret: SECRET })
        : signJobToken({ jobs: ['user-9:*'], expiresIn: '10m', secret: SECRET })
    }
    const client = createClient({ url: gw.url, token, transports: [transport], WebSocket: WS })
    const seen: number[] = []
    const done = client.waitForJob(id, { onProgress: (j) => seen.push(j.progress ?? -1), timeout: 15_000 })
    let step = 0
    const ticker = setInterval(() => void gw.gateway.bus.publish({ id, status: 'active', progress: ++step * 5 }), 150)
    await new Promise((r) => setTimeout(r, 2_600))
    clearInterval(ticker)
    await gw.gateway.bus.publish({ id, status: 'completed', result: { downloadUrl: '/files/x.csv' } })
    const final = await done
    await client.close()
    expect(final.status).toBe('completed')
    expect(issued.length, 'token callback asked again after expiry').toBeGreaterThanOrEqual(2)
    if (transport !== 'polling') {
      // Push transports resume from the last seq: every progress step arrives, once, in order.
      const progress = seen.filter((p) => p > 0)
      expect(progress).toEqual(Array.from({ length: step }, (_, i) => (i + 1) * 5))
    }
  })

  it('rejects with an auth error for a token of another job instead of hanging', async () => {
    const id = `user-9:${transport}-other`
    await gw.gateway.bus.publish({ id, status: 'active' })
    const wrong = await signJobToken({ jobs: ['user-8:*'], expiresIn: 60, secret: SECRET })
    const error = await waitForJob(id, { url: gw.url, token: wrong, transports: [transport], WebSocket: WS, timeout: 8_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as { code?: string }).code).toBe('forbidden')
  })
})
