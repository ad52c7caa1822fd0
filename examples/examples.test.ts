/**
 * The Node examples against a real gateway and a real Redis: the seed app answers 202 with a
 * job id and a token, the worker picks the export up and publishes its progress, and a client
 * holding only that token follows it to completion. (The browser examples run in
 * test/browser/components.test.ts.)
 */
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type JobEvent, type WebSocketConstructor } from '@jobcast/client'
import { createJwtAuthorizer } from '@jobcast/gateway'
import { startGateway, type TestGateway } from '../test/support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../test/support/redis.js'
import { startSeedApp } from './seed-app/server.mjs'
import { startWorker } from './worker/worker.mjs'

const secret = randomBytes(48).toString('base64')
let redis: TestRedis
let gw: TestGateway
let seed: { url: string; close(): Promise<void> }
let worker: { stop(): Promise<void> }

beforeAll(async () => {
  redis = await startRedis()
  const prefix = randomPrefix()
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, authorizer: createJwtAuthorizer({ secret }) })
  seed = await startSeedApp({ redisUrl: redis.url, secret, gatewayUrl: gw.url, prefix })
  worker = startWorker({ redisUrl: redis.url, prefix, stepMs: 50 })
})

afterAll(async () => {
  await worker?.stop()
  await seed?.close()
  await gw?.close()
  await redis?.stop()
})

describe('seed app + worker', () => {
  it('answers 202 with {jobId, token}; the worker completes the export; the token lets a client follow it', async () => {
    const response = await fetch(`${seed.url}/exports`, { method: 'POST', body: JSON.stringify({ rows: 500 }), headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(202)
    const body = (await response.json()) as { jobId: string; token: string; gateway: string }
    expect(body.jobId).toMatch(/^export-[0-9a-f-]{36}$/)
    expect(body.token.split('.')).toHaveLength(3)
    expect(body.gateway).toBe(gw.url)
    expect(response.headers.get('location')).toBe(`${gw.url}/v1/jobs/${body.jobId}`)

    // Without the token the gateway refuses; with it the job is visible.
    expect((await fetch(`${gw.url}/v1/jobs/${body.jobId}`)).status).toBe(401)
    const client = createClient({ url: gw.url, token: body.token, WebSocket: WebSocket as unknown as WebSocketConstructor })
    const seen: JobEvent[] = []
    try {
      const done = await client.waitForJob(body.jobId, { onProgress: (j) => seen.push(j), timeout: 15_000 })
      expect(done.status).toBe('completed')
      expect(done.result).toEqual({ downloadUrl: `/downloads/${body.jobId}.csv`, rows: 500 })
      const steps = seen.flatMap((j) => (typeof j.progress === 'number' ? [j.progress] : []))
      expect(steps.at(-1)).toBe(100)
      expect([...steps].sort((a, b) => a - b)).toEqual(steps)
    } finally {
      await client.close()
    }
  })

  it('mints no token in open mode (no secret)', async () => {
    const open = await startSeedApp({ redisUrl: redis.url, gatewayUrl: gw.url })
    try {
      const response = await fetch(`${open.url}/exports`, { method: 'POST' })
      expect(response.status).toBe(202)
      const body = (await response.json()) as Record<string, unknown>
      expect(body.token).toBeUndefined()
      expect(typeof body.jobId).toBe('string')
    } finally {
      await open.close()
    }
  })
})
