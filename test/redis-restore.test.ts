/**
 * Final states survive Redis restarting empty (issue 9): the publisher restores the last event
 * of the jobs it published, the gateway the jobs it watches or watched, never over a newer
 * state; pollers see the job again instead of a 404 forever.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createPublisher, jobKey, type Publisher } from '@jobcast/gateway'
import { openSse, openWs, type SseClient } from './support/clients.js'
import { startGateway, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedisWithClient, type TestRedisWithClient } from './support/redis.js'

let redis: TestRedisWithClient
const gateways: TestGateway[] = []
const publishers: Publisher[] = []

beforeAll(async () => {
  redis = await startRedisWithClient()
})
afterAll(() => redis?.stop())
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()))
  await Promise.all(gateways.splice(0).map((g) => g.close()))
})

async function gateway(prefix: string): Promise<TestGateway> {
  const gw = await startGateway({ bus: { redisUrl: redis.url, prefix } })
  gateways.push(gw)
  return gw
}

function publisher(prefix: string): Publisher {
  const p = createPublisher({ url: redis.url, prefix })
  publishers.push(p)
  return p
}

/** Job `id` at `progress`, published by a publisher that is then closed, watched over SSE. */
async function watchedOrphan(id: string, progress: number): Promise<{ prefix: string; gw: TestGateway; sse: SseClient }> {
  const prefix = randomPrefix()
  const gw = await gateway(prefix)
  const p = publisher(prefix)
  await p.active(id, { progress })
  await p.close()
  const sse = await openSse(`${gw.url}/v1/jobs/${id}/events`)
  await sse.items.until(() => (sse.jobs().length === 1 ? true : undefined))
  return { prefix, gw, sse }
}

/** Polls `GET /v1/jobs/:id` until it answers 200 with `status`; returns the job. */
async function pollUntil(gw: TestGateway, id: string, status: string, timeoutMs = 10_000): Promise<{ seq: number; status: string; progress?: number }> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const response = await fetch(`${gw.url}/v1/jobs/${id}`)
    const body = await response.text()
    last = `${response.status} ${body}`
    if (response.status === 200 && JSON.parse(body).status === status) return JSON.parse(body)
    if (Date.now() > deadline) throw new Error(`job ${id} never answered 200 ${status}; last: ${last}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

it('a publisher that published complete before Redis restarted empty restores it: a poll answers 200 completed, not 404', async () => {
  const prefix = randomPrefix()
  const gw = await gateway(prefix)
  const p = publisher(prefix)
  const done = await p.complete('pub-1', { downloadUrl: '/pub-1.csv' })
  // Read directly, so the gateway has not seen the job and cannot be the one restoring it.
  expect(await redis.raw.exists(jobKey(prefix, 'pub-1'))).toBe(1)
  await redis.restart()
  const job = await pollUntil(gw, 'pub-1', 'completed')
  expect(job.seq).toBe(done.published ? done.event.seq : -1)
})

it('a gateway watching a job whose publisher is closed restores its snapshot after the restart, with no duplicate for the watcher', async () => {
  const { gw, sse } = await watchedOrphan('gw-1', 40)
  await redis.restart()
  const job = await pollUntil(gw, 'gw-1', 'active')
  expect(job.progress).toBe(40)
  // The restore is published again on the job's channel; the watcher's seq gate drops it.
  await new Promise((r) => setTimeout(r, 200))
  expect(sse.jobs().map((e) => e.progress)).toEqual([40])
  sse.close()
})

it('a gateway that delivered a terminal event restores it after the restart, once its watcher is gone', async () => {
  const prefix = randomPrefix()
  const gw = await gateway(prefix)
  const p = publisher(prefix)
  await p.active('gw-2', { progress: 10 })
  const ws = await openWs(gw.wsUrl)
  ws.send({ type: 'subscribe', id: 'gw-2' })
  await ws.frames.until(() => (ws.jobs().length === 1 ? true : undefined))
  await p.complete('gw-2', { rows: 2 })
  await p.close()
  await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'unsubscribed'), 5_000, 'unsubscribed')
  ws.close()
  await redis.restart()
  await pollUntil(gw, 'gw-2', 'completed')
})

it('never restores over a newer state: another publisher published after the restart', async () => {
  const { prefix, gw, sse } = await watchedOrphan('gw-3', 40)
  await redis.kill()
  await new Promise((r) => setTimeout(r, 300))
  await redis.restart()
  // A second worker publishes the end as soon as Redis is back, racing the gateway's restore.
  const second = publisher(prefix)
  const done = await second.complete('gw-3', { by: 'second' })
  await sse.ended
  expect(sse.jobs().map((e) => [e.status, e.progress])).toEqual([
    ['active', 40],
    ['completed', 100],
  ])
  const job = await pollUntil(gw, 'gw-3', 'completed')
  expect(job.seq).toBe(done.published ? done.event.seq : -1)
  // Whichever came first, the newer state stays.
  await new Promise((r) => setTimeout(r, 300))
  expect(JSON.parse((await redis.raw.get(jobKey(prefix, 'gw-3')))!)).toMatchObject({ status: 'completed', result: { by: 'second' } })
})

it('a gateway restores a job it served to a poller before the restart, though nobody watches it', async () => {
  const prefix = randomPrefix()
  const gw = await gateway(prefix)
  const p = publisher(prefix)
  await p.active('gw-4', { progress: 70 })
  await p.close()
  await pollUntil(gw, 'gw-4', 'active')
  await redis.restart()
  expect((await pollUntil(gw, 'gw-4', 'active')).progress).toBe(70)
})
