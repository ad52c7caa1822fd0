/**
 * The seed app's case of issue 9: Redis is killed 0.8 s into an export and restarted empty 3 s
 * later. The worker's publisher waits for Redis and finishes the export; the snapshots Redis
 * lost are restored; a `waitForJob` client started before the outage ends on `completed`.
 */
import WebSocket from 'ws'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createClient, type JobEvent, type WebSocketConstructor } from '@jobcast/client'
import { startSeedApp } from '../examples/seed-app/server.mjs'
import { startWorker } from '../examples/worker/worker.mjs'
import { startGateway, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from './support/redis.js'

let redis: TestRedis
let gw: TestGateway
let seed: { url: string; close(): Promise<void> }
let worker: { stop(): Promise<void> }
const prefix = randomPrefix()

beforeAll(async () => {
  redis = await startRedis()
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix } })
  seed = await startSeedApp({ redisUrl: redis.url, gatewayUrl: gw.url, prefix })
  worker = startWorker({ redisUrl: redis.url, prefix, stepMs: 200 })
})

afterAll(async () => {
  await worker?.stop()
  await seed?.close()
  await gw?.close()
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

it('a client waiting on an export ends on completed though Redis restarted empty mid-export', async () => {
  const response = await fetch(`${seed.url}/exports`, { method: 'POST', body: JSON.stringify({ rows: 300 }), headers: { 'content-type': 'application/json' } })
  expect(response.status).toBe(202)
  const { jobId } = (await response.json()) as { jobId: string }
  const client = createClient({ url: gw.url, WebSocket: WebSocket as unknown as WebSocketConstructor })
  const seen: JobEvent[] = []
  try {
    const waiting = client.waitForJob(jobId, { onProgress: (job) => seen.push(job), timeout: 20_000 })
    const settled = waiting.then(
      (job) => ({ job }),
      (error: unknown) => ({ error }),
    )
    // 0.8 s into the export (counted from its first event), Redis dies; 3 s later it is back, empty.
    const started = Date.now()
    while (!seen.some((job) => job.status === 'active')) {
      if (Date.now() - started > 10_000) throw new Error('the export never started')
      await sleep(10)
    }
    await sleep(800)
    await redis.kill()
    await sleep(3000)
    await redis.restart()
    const outcome = await settled
    expect(outcome).toHaveProperty('job')
    const done = (outcome as { job: JobEvent }).job
    expect(done.status).toBe('completed')
    expect(done.result).toEqual({ downloadUrl: `/downloads/${jobId}.csv`, rows: 300 })
    // Progress never went backwards on the page.
    const steps = seen.flatMap((job) => (typeof job.progress === 'number' ? [job.progress] : []))
    expect([...steps].sort((a, b) => a - b)).toEqual(steps)
  } finally {
    await client.close()
  }
  // A page opened after the restart also finds the job at its final state.
  const late = await fetch(`${gw.url}/v1/jobs/${jobId}`)
  expect(late.status).toBe(200)
  expect(((await late.json()) as JobEvent).status).toBe('completed')
}, 30_000)
