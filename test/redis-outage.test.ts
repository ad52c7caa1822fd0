/**
 * Redis killed and restarted mid-job (no persistence: every snapshot and seq is lost, as in
 * a failover): the terminal event published afterwards still reaches SSE and WebSocket
 * subscribers, once, after every event they already had; /readyz reports the outage.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createPublisher, type Publisher } from '@jobcast/gateway'
import { openSse, openWs } from './support/clients.js'
import { startGateway, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from './support/redis.js'

let redis: TestRedis
let gw: TestGateway | undefined
let publisher: Publisher | undefined
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())
afterEach(async () => {
  await publisher?.close()
  await gw?.close()
})

async function until(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

it('delivers the terminal event published after a Redis restart to SSE, multi-SSE and WebSocket, with no duplicate', async () => {
  const prefix = randomPrefix()
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix } })
  publisher = createPublisher({ url: redis.url, prefix })
  await publisher.active('r-1', { progress: 10 })
  const sse = await openSse(`${gw.url}/v1/jobs/r-1/events`)
  const multi = await openSse(`${gw.url}/v1/events?id=r-1`)
  const ws = await openWs(gw.wsUrl)
  ws.send({ type: 'subscribe', id: 'r-1' })
  await sse.items.until(() => (sse.jobs().length === 1 ? true : undefined))
  await multi.items.until(() => (multi.jobs().length === 1 ? true : undefined))
  await ws.frames.until(() => (ws.jobs().length === 1 ? true : undefined))
  await publisher.progress('r-1', 50)
  await ws.frames.until(() => (ws.jobs().length === 2 ? true : undefined))

  await redis.restart()
  // The publisher waits for its connection to come back by itself.
  await publisher.complete('r-1', { downloadUrl: '/r-1.csv' })

  await Promise.all([sse.ended, multi.ended])
  await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'unsubscribed'), 10_000, 'ws unsubscribed')
  for (const got of [sse.jobs(), multi.jobs(), ws.jobs()]) {
    expect(got.map((e) => e.progress)).toEqual([10, 50, 100])
    expect(got.at(-1)?.status).toBe('completed')
    const seqs = got.map((e) => e.seq)
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0))).toBe(true)
  }
  ws.close()
})

it('answers /readyz 503 while Redis is down and 200 once it is back', async () => {
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix: randomPrefix() } })
  const ready = async (status: number) => (await fetch(`${gw!.url}/readyz`)).status === status
  await until(() => ready(200), 5_000, 'ready')
  await redis.kill()
  await until(() => ready(503), 10_000, 'readyz 503')
  const body = await (await fetch(`${gw.url}/readyz`)).json()
  expect(body).toMatchObject({ error: { code: 'bus_unavailable' } })
  await redis.restart()
  await until(() => ready(200), 10_000, 'readyz 200 again')
})
