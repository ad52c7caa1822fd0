/**
 * The client wired up wrong, against a real gateway and a real redis-server (issue 13): a `url`
 * with a base path the gateway is not mounted at ends in GatewayError, not JobNotFoundError
 * after the not-found grace; a `url` where nothing listens ends in the `unavailable` state with
 * one console warning, and a wait still settles once a gateway listens there.
 */
import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { createGateway, createPublisher, type Publisher } from '@jobcast/gateway'
import { createClient, type JobcastClient, type StateChange } from '@jobcast/client'
import { openAuthorizer } from '../../packages/gateway/src/auth/authorizer.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'

let redis: TestRedis
let prefix: string
let publisher: Publisher
const cleanups: (() => Promise<unknown> | unknown)[] = []
beforeAll(async () => {
  redis = await startRedis()
  prefix = randomPrefix()
  publisher = createPublisher({ url: redis.url, prefix })
})
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(async () => {
  await publisher?.close()
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
let n = 0
const jobId = (tag: string) => `wiring-${tag}-${Date.now()}-${n++}`

/** A client closed after the test; every option but the WebSocket (Node 20 has none) at its default unless given. */
function newClient(options: Omit<Parameters<typeof createClient>[0], 'WebSocket'>): JobcastClient {
  const client = createClient({ WebSocket, ...options })
  cleanups.push(() => client.close())
  return client
}

/** A loopback port nothing listens on (taken, then let go). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

it('a url with a base path the gateway (mounted at /) does not have: GatewayError on every wait, well before the not-found grace', async () => {
  const gw: TestGateway = await startGateway({ bus: { redisUrl: redis.url, prefix } })
  cleanups.push(() => gw.close())
  const id = jobId('base-path')
  await publisher.progress(id, 10)
  const url = `${gw.url}/jobcast`
  const changes: StateChange[] = []
  const client = newClient({ url, onStateChange: (change) => changes.push(change) })
  const startedAt = Date.now()
  const errors = await Promise.all([id, jobId('other')].map((job) => client.waitForJob(job).catch((error: unknown) => error)))
  const took = Date.now() - startedAt
  for (const error of errors) expect(error).toMatchObject({ name: 'GatewayError', code: 'not_found', url })
  expect((errors[0] as Error).message).toBe(`[jobcast] no gateway at ${url} (404 on every transport): check url and the gateway's base path`)
  // notFoundGrace is 10 s by default: the answer comes from the three refusals alone.
  expect(took).toBeLessThan(2000)
  // Every transport was tried, best first, and the client let go of them.
  expect(changes.map((change) => change.transport)).toEqual(['websocket', 'sse', 'polling', undefined])
  expect(client.state).toBe('idle')
  // The same client with the right url finds the job.
  const right = newClient({ url: gw.url })
  const waiting = right.waitForJob(id)
  await publisher.complete(id, { rows: 1 })
  await expect(waiting).resolves.toMatchObject({ status: 'completed' })
})

it('nothing listening, default options: unavailable with one console warning within the documented bound, still retrying', async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const client = newClient({ url })
  const startedAt = Date.now()
  let settled = false
  client.waitForJob(jobId('nothing')).then(
    () => (settled = true),
    () => (settled = true),
  )
  await until(() => client.state == 'unavailable', 10_000, 'state unavailable')
  // Connections are refused at once here: what remains is the reconnect backoff between runs
  // (full jitter, caps 1 s + 2 s + 4 s with the defaults).
  expect(Date.now() - startedAt).toBeLessThan(7500)
  expect(warn).toHaveBeenCalledTimes(1)
  expect(warn.mock.calls[0]![0]).toBe(
    `[jobcast] cannot reach ${url} over websocket,sse,polling: nothing listening, or CORS/origin refused (--cors-origin)`,
  )
  expect(settled).toBe(false)
})

it('nothing listening, then a gateway starts there: the wait settles and the state leaves unavailable', async () => {
  const port = await freePort()
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const changes: StateChange[] = []
  const client = newClient({
    url: `http://127.0.0.1:${port}`,
    reconnect: { initial: 100, max: 400, factor: 2 },
    onStateChange: (change) => changes.push(change),
  })
  const id = jobId('later')
  const waiting = client.waitForJob(id)
  await until(() => client.state == 'unavailable', 5000, 'state unavailable')
  const gateway = createGateway({ redisUrl: redis.url, prefix, authorizer: openAuthorizer, warnOpenMode: false, security: false, shutdownTimeoutMs: 2000 })
  cleanups.push(() => gateway.close())
  await gateway.listen(port, '127.0.0.1')
  await publisher.complete(id, { rows: 2 })
  await expect(waiting).resolves.toMatchObject({ status: 'completed', result: { rows: 2 } })
  expect(changes.find((change) => change.previous == 'unavailable')).toMatchObject({ state: 'connected', transport: 'websocket' })
  expect(warn).toHaveBeenCalledTimes(1)
})
