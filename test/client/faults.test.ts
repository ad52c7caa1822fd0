/**
 * The client against a real gateway and a real redis-server through faults (issue 9): a
 * WebSocket subscribe while the gateway's Redis is down, a subscribe rate limit, polling at
 * the gateway's pace, and a job whose snapshot Redis lost for good.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createGateway, createPublisher, type Gateway, type Publisher } from '@jobcast/gateway'
import { createClient, waitForJob, type JobEvent, type TransportName } from '@jobcast/client'
import { openAuthorizer } from '../../packages/gateway/src/auth/authorizer.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'

let redis: TestRedis
const cleanups: (() => Promise<unknown> | unknown)[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(() => redis?.stop())

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}
let n = 0
const jobId = (tag: string) => `faults-${tag}-${Date.now()}-${n++}`

/** A gateway plus a publisher on the test Redis, both closed after the test. */
async function setUp(options: Parameters<typeof startGateway>[0] = {}) {
  const prefix = randomPrefix()
  const gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, ...options })
  const publisher = createPublisher({ url: redis.url, prefix })
  cleanups.push(() => gw.close(), () => publisher.close())
  return { gw, publisher, prefix }
}

/** Publishes, retrying while the publisher's connection comes back after a restart. */
const publishSoon = (action: () => Promise<unknown>) => until(() => action().then(() => true, () => false), 10_000, 'publish')

/** `ws`'s WebSocket, recording every frame the gateway sends and every socket opened. */
function recordingWebSocket() {
  const frames: { type: string; id?: string; code?: string }[] = []
  let sockets = 0
  class Recording extends WebSocket {
    constructor(url: string) {
      super(url)
      sockets++
      this.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))))
    }
  }
  return { WebSocket: Recording, frames, sockets: () => sockets }
}

const ready = async (gw: TestGateway, status: number) => (await fetch(`${gw.url}/readyz`)).status === status

it('WebSocket: a subscribe while the gateway cannot reach Redis keeps waiting, and resolves once Redis is back', async () => {
  const { gw, publisher } = await setUp()
  const id = jobId('ws-down')
  await redis.kill()
  await until(() => ready(gw, 503), 10_000, 'the gateway to see Redis down')
  const recording = recordingWebSocket()
  const client = createClient({ url: gw.url, transports: ['websocket'], WebSocket: recording.WebSocket, reconnect: { initial: 200, max: 1000, factor: 2 } })
  cleanups.push(() => client.close())
  let settled = false
  const wait = client.waitForJob(id).finally(() => (settled = true))
  await until(() => recording.frames.some((f) => f.type === 'error' && f.code === 'bus_unavailable'), 5000, 'bus_unavailable')
  await sleep(1500) // several refused retries
  expect(settled).toBe(false)
  await redis.restart()
  await publishSoon(() => publisher.active(id, { progress: 50 }))
  await publishSoon(() => publisher.complete(id, { downloadUrl: `/f/${id}` }))
  await expect(wait).resolves.toMatchObject({ status: 'completed', result: { downloadUrl: `/f/${id}` } })
  // The job was asked for again on the same socket, through several refusals.
  expect(recording.sockets()).toBe(1)
  expect(recording.frames.filter((f) => f.type === 'error').length).toBeGreaterThan(1)
})

it('WebSocket with --subscribe-rate 1:1: three jobs on one socket all resolve', async () => {
  const { gw, publisher } = await setUp({ security: { subscribeRatePerSec: 1, subscribeBurst: 1 } })
  const ids = [jobId('rate'), jobId('rate'), jobId('rate')]
  for (const id of ids) await publisher.active(id, { progress: 10 })
  const recording = recordingWebSocket()
  const client = createClient({ url: gw.url, transports: ['websocket'], WebSocket: recording.WebSocket })
  cleanups.push(() => client.close())
  const seen = new Map<string, JobEvent[]>(ids.map((id) => [id, []]))
  const all = Promise.all(ids.map((id) => client.waitForJob(id, { onProgress: (j) => seen.get(id)!.push(j) })))
  await until(() => recording.frames.some((f) => f.code === 'rate_limited'), 5000, 'rate_limited')
  for (const id of ids) await publisher.complete(id, { id })
  const jobs = await all
  expect(jobs.map((j) => j.result)).toEqual(ids.map((id) => ({ id })))
  // Each saw its snapshot or went straight to the end; nothing twice, nothing out of order.
  for (const list of seen.values()) expect(list.map((j) => j.seq)).toEqual([...new Set(list.map((j) => j.seq))].sort((a, b) => a - b))
  expect(recording.sockets()).toBe(1)
})

it('polling at default settings: p99 terminal → settle within 2 s over 200 jobs', async () => {
  // The gateway's default pace (Retry-After: 1 while a job runs) and the client's defaults.
  const { gw, publisher } = await setUp()
  const count = 200
  const ids = Array.from({ length: count }, () => jobId('pace'))
  await Promise.all(ids.map((id) => publisher.active(id, { progress: 1 })))
  const latencies: number[] = []
  await Promise.all(
    ids.map(async (id) => {
      const wait = waitForJob(id, { url: gw.url, transports: ['polling'] })
      // Each job ends at a random moment, 1.5 to 4.5 s in: anywhere between two polls.
      await sleep(1500 + Math.random() * 3000)
      const terminalAt = Date.now()
      await publisher.complete(id, { id })
      await wait
      latencies.push(Date.now() - terminalAt)
    }),
  )
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(count - 1, Math.ceil(q * count) - 1)]!
  console.log(`[jobcast] polling terminal → settle over ${count} jobs: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1)} ms`)
  expect(at(0.99)).toBeLessThanOrEqual(2000)
}, 30_000)

describe.each(['polling', 'sse', 'websocket'] as TransportName[])('a job Redis lost for good, over %s', (transport) => {
  it('rejects with JobLostError after lostGrace, carrying the last event seen', async () => {
    const prefix = randomPrefix()
    // A publisher of its own, closed before the restart: nothing can republish or restore the job.
    const publisher: Publisher = createPublisher({ url: redis.url, prefix })
    const id = jobId(`lost-${transport}`)
    await publisher.active(id, { progress: 40 })
    await publisher.close()
    const settings = { redisUrl: redis.url, prefix, authorizer: openAuthorizer, warnOpenMode: false, security: false as const, shutdownTimeoutMs: 2000 }
    let gateway: Gateway = createGateway(settings)
    const { port, url } = await gateway.listen(0, '127.0.0.1')
    cleanups.push(() => gateway.close())
    const client = createClient({ url, transports: [transport], WebSocket, lostGrace: 1500, reconnect: { initial: 100, max: 200, factor: 2 } })
    cleanups.push(() => client.close())
    const seen: JobEvent[] = []
    const wait = client.waitForJob(id, { onProgress: (j) => seen.push(j) })
    wait.catch(() => {})
    await until(() => seen.length === 1, 5000, 'the first event')
    // The gateway goes first: one that lived through the restart would restore the job it
    // watched or served. Push connections learn "unknown" when they subscribe again to the new one.
    await gateway.close()
    await redis.restart()
    gateway = createGateway(settings)
    await gateway.listen(port, '127.0.0.1')
    const lostFrom = Date.now()
    const error = await wait.catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'JobLostError', code: 'job_lost', jobId: id, job: { id, status: 'active', progress: 40 } })
    expect((error as Error).message).toMatch(/^\[jobcast\] job \S+ \(last active\) is no longer known to the gateway/)
    expect(Date.now() - lostFrom).toBeGreaterThanOrEqual(1000)
    expect(seen).toHaveLength(1)
  })
})
