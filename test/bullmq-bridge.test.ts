/**
 * The BullMQ bridge end to end: real redis-server, real BullMQ queues and workers whose
 * processor knows nothing of jobcast, a real gateway, and the browser client.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { isJobFailedError, waitForJob, type JobEvent, type TransportName } from '@jobcast/client'
import { createBullmqBridge, type BullmqBridge, type BullmqBridgeOptions } from '../packages/gateway/src/bullmq/bullmq-bridge.js'
import { JobcastError } from '../packages/gateway/src/errors.js'
import { createPublisher, type Publisher } from '../packages/gateway/src/publisher.js'
import { bridgeLeaseKey } from '../packages/gateway/src/bullmq/keys.js'
import { jobKey } from '../packages/gateway/src/bus/keys.js'
import { mapBullmqEntry } from '../packages/gateway/src/bullmq/map-event.js'
import { startGateway, type TestGateway } from './support/gateway.js'
import { randomPrefix, startRedisWithClient, type TestRedisWithClient } from './support/redis.js'

let redis: TestRedisWithClient
const cleanups: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  redis = await startRedisWithClient()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(async () => {
  await redis?.stop()
})

const connection = () => ({ host: '127.0.0.1', port: redis.port })
const freshQueue = (name: string) => `${name}-${randomBytes(3).toString('hex')}`

function openQueue(name: string): Queue {
  const queue = new Queue(name, { connection: connection() })
  cleanups.push(() => queue.close())
  return queue
}

/** An ordinary BullMQ worker: it reports progress and returns a value, and knows nothing of jobcast. */
function startWorker(queue: string, stepMs = 20, concurrency = 2): Worker {
  const worker = new Worker(
    queue,
    async (job: Job<{ rows: number; fail?: boolean }>) => {
      await job.updateProgress(30)
      await sleep(stepMs)
      await job.updateProgress({ progress: 70, message: 'almost there' })
      await sleep(stepMs)
      if (job.data.fail) throw new Error(`could not export ${job.id}`)
      return { rows: job.data.rows }
    },
    { connection: connection(), concurrency },
  )
  cleanups.push(() => worker.close())
  return worker
}

function startBridge(options: Omit<BullmqBridgeOptions, 'url'>): BullmqBridge {
  const bridge = createBullmqBridge({ url: redis.url, blockMs: 200, ...options })
  cleanups.push(() => bridge.close())
  return bridge
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
  }
}

type Seen = Pick<JobEvent, 'status' | 'progress'>

/** Most jobs a test adds to one queue: BullMQ numbers them 1, 2, … per queue. */
const MAX_JOBS_PER_QUEUE = 64

/** Job ids the tests give BullMQ jobs themselves. */
const CUSTOM_JOB_IDS = ['after', 'late']

/**
 * Every event published under `prefix` for the jobs of `queueName`, per job, read from Redis
 * pub/sub. Sharded pub/sub has no pattern subscription: the channels of every job the queue can
 * hold here are subscribed up front.
 */
async function recordPublished(prefix: string, queueName: string): Promise<Map<string, Seen[]>> {
  const byJob = new Map<string, Seen[]>()
  const subscriber = new Redis(redis.url)
  subscriber.on('error', () => undefined)
  subscriber.on('smessage', (_channel: string, message: string) => {
    const event = JSON.parse(message) as JobEvent
    const list = byJob.get(event.id) ?? []
    list.push(event.progress === undefined ? { status: event.status } : { status: event.status, progress: event.progress })
    byJob.set(event.id, list)
  })
  const bullmqIds = [...Array.from({ length: MAX_JOBS_PER_QUEUE }, (_, index) => String(index + 1)), ...CUSTOM_JOB_IDS]
  await subscriber.ssubscribe(...bullmqIds.map((id) => jobKey(prefix, `${queueName}:${id}`)))
  cleanups.push(async () => subscriber.disconnect())
  return byJob
}

/** What the bridge must publish for the queue: one event per mapped stream entry, per job. */
async function expectedFromStream(queue: string): Promise<Map<string, Seen[]>> {
  const expected = new Map<string, Seen[]>()
  for (const [id, pairs] of await redis.raw.xrange(`bull:${queue}:events`, '-', '+')) {
    const fields: Record<string, string> = {}
    for (let index = 0; index < pairs.length; index += 2) fields[pairs[index]!] = pairs[index + 1]!
    const mapped = mapBullmqEntry({ id, fields })
    if (!mapped) continue
    const jobId = `${queue}:${mapped.bullmqId}`
    const { status, progress } = mapped.event
    expected.set(jobId, [...(expected.get(jobId) ?? []), progress === undefined ? { status } : { status, progress }])
  }
  return expected
}

/** A fresh jobcast prefix and queue name, and a recorder of what is published under the prefix. */
async function freshSetup(name: string): Promise<{ prefix: string; queueName: string; published: Map<string, Seen[]> }> {
  const prefix = randomPrefix()
  const queueName = freshQueue(name)
  return { prefix, queueName, published: await recordPublished(prefix, queueName) }
}

/** Adds `count` jobs to the queue; returns their jobcast ids. */
async function addJobs(queueName: string, count: number): Promise<string[]> {
  const jobs = await openQueue(queueName).addBulk(Array.from({ length: count }, (_, index) => ({ name: 'work', data: { rows: index } })))
  return jobs.map((job) => `${queueName}:${job.id}`)
}

const firstCompleted = (published: Map<string, Seen[]>) =>
  until(() => [...published.values()].some((events) => events.at(-1)?.status === 'completed'), 10_000, 'a first job to complete')

/** Waits until every job ended, then checks each was published exactly as the stream says. */
async function expectEachEventOnce(published: Map<string, Seen[]>, queueName: string, ids: string[]): Promise<void> {
  await until(() => ids.every((id) => ['completed', 'failed'].includes(published.get(id)?.at(-1)?.status ?? '')), 15_000, 'every job to end')
  // Anything published twice would arrive within this.
  await sleep(100)
  const expected = await expectedFromStream(queueName)
  for (const id of ids) expect(published.get(id), id).toEqual(expected.get(id))
}

describe('a page follows an unmodified BullMQ worker through the gateway', () => {
  let gw: TestGateway
  const prefix = randomPrefix()

  async function gatewayFor(queue: string): Promise<TestGateway> {
    gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, pollRetryAfterSeconds: 0, bullmq: { queues: [queue], blockMs: 200 } })
    cleanups.push(() => gw.close())
    return gw
  }

  it.each<TransportName>(['websocket', 'sse', 'polling'])('to its result over %s', async (transport) => {
    const queueName = freshQueue('exports')
    await gatewayFor(queueName)
    const job = await openQueue(queueName).add('export', { rows: 3 })
    const seen: JobEvent[] = []
    const waiting = waitForJob(`${queueName}:${job.id}`, {
      url: gw.url,
      transports: [transport],
      WebSocket,
      poll: { initial: 50, max: 150, factor: 2 },
      notFoundGrace: 10_000,
      onProgress: (event) => seen.push(event),
    })
    // A push client watches before the worker starts, so it must see every step.
    if (transport !== 'polling') await until(() => gw.gateway.hub.watchedJobs >= 1, 5_000, 'the client to watch')
    startWorker(queueName, transport === 'polling' ? 300 : 20)
    const final = await waiting
    expect(final).toMatchObject({ id: `${queueName}:${job.id}`, status: 'completed', progress: 100, result: { rows: 3 } })
    if (transport === 'polling') expect(seen.some((event) => event.status === 'active')).toBe(true)
    else {
      expect(seen.find((event) => event.progress === 30)).toMatchObject({ status: 'active' })
      expect(seen.find((event) => event.progress === 70)).toMatchObject({ status: 'active', message: 'almost there' })
    }
  })

  it('a job failing with attempts: 2 is queued again after its first attempt, then failed', async () => {
    const queueName = freshQueue('imports')
    await gatewayFor(queueName)
    const job = await openQueue(queueName).add('import', { rows: 1, fail: true }, { attempts: 2 })
    const seen: JobEvent[] = []
    const waiting = waitForJob(`${queueName}:${job.id}`, { url: gw.url, transports: ['websocket'], WebSocket, notFoundGrace: 10_000, onProgress: (event) => seen.push(event) })
    await until(() => gw.gateway.hub.watchedJobs >= 1, 5_000, 'the client to watch')
    startWorker(queueName)
    const error = await waiting.then(
      () => undefined,
      (reason: unknown) => reason,
    )
    expect(isJobFailedError(error) && error.error).toEqual({ message: `could not export ${job.id}` })
    const retry = seen.findIndex((event) => event.status === 'queued' && event.data?.attemptsMade === 1)
    expect(seen[retry]?.data).toEqual({ attemptsMade: 1, attempts: 2 })
    // Active before the retry, active again after it.
    expect(seen.slice(0, retry).some((event) => event.status === 'active')).toBe(true)
    expect(seen.slice(retry).some((event) => event.status === 'active')).toBe(true)
  })
})

describe('createBullmqBridge', () => {
  it('a bridge restarted mid-run misses nothing and publishes nothing twice', async () => {
    const { prefix, queueName, published } = await freshSetup('reports')
    const ids = await addJobs(queueName, 16)
    const first = startBridge({ queues: [queueName], prefix })
    startWorker(queueName, 25)
    await firstCompleted(published)
    await first.close()
    const stoppedAt = await redis.raw.xlen(`bull:${queueName}:events`)
    await sleep(150)
    expect(await redis.raw.xlen(`bull:${queueName}:events`)).toBeGreaterThan(stoppedAt)
    startBridge({ queues: [queueName], prefix })
    await expectEachEventOnce(published, queueName, ids)
  })

  it('a bridge killed mid-run is taken over by a standby when its lease lapses, missing and repeating nothing', async () => {
    const built = fileURLToPath(new URL('../packages/gateway/dist/index.js', import.meta.url))
    expect(existsSync(built), '[jobcast] packages/gateway/dist is missing: run npm run build (npm test does)').toBe(true)
    const { prefix, queueName, published } = await freshSetup('crashes')
    const ids = await addJobs(queueName, 16)
    const script = `import { createBullmqBridge } from ${JSON.stringify(built)}
createBullmqBridge({ url: process.argv[1], queues: [process.argv[2]], prefix: process.argv[3], leaseMs: 600, blockMs: 200 })`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, redis.url, queueName, prefix], { stdio: 'ignore' })
    cleanups.push(async () => child.kill('SIGKILL'))
    await until(() => redis.raw.get(bridgeLeaseKey(prefix, 'bull', queueName)), 10_000, 'the child bridge to take the lease')
    const standby = startBridge({ queues: [queueName], prefix, leaseMs: 600 })
    startWorker(queueName, 25)
    await firstCompleted(published)
    expect(standby.following()).toEqual([])
    expect(ids.some((id) => published.get(id)?.at(-1)?.status !== 'completed'), 'jobs still running').toBe(true)
    child.kill('SIGKILL')
    await until(() => standby.following().length === 1, 5_000, 'the standby to take over')
    await expectEachEventOnce(published, queueName, ids)
  })

  it('events published but not yet saved as handled are sent again, and published once', async () => {
    const { prefix, queueName, published } = await freshSetup('lossy')
    const publisher = createPublisher({ url: redis.url, prefix })
    cleanups.push(() => publisher.close())
    // As a crash between publishing and saving the cursor: the event lands, the bridge never learns it.
    let lost = 0
    const replyLost: Publisher = {
      ...publisher,
      publish: async (event) => {
        const outcome = await publisher.publish(event)
        if (event.progress === 70 && lost < 3) {
          lost++
          throw new JobcastError('bus_unavailable', 'the reply was lost')
        }
        return outcome
      },
    }
    const logged: string[] = []
    const ids = await addJobs(queueName, 6)
    startBridge({ queues: [queueName], prefix, publisher: replyLost, retryDelayMs: 50, log: (message) => logged.push(message) })
    startWorker(queueName, 25, 3)
    await expectEachEventOnce(published, queueName, ids)
    expect(lost).toBe(3)
    expect(logged[0]).toMatch(/^\[jobcast\] bridge of BullMQ queue .*the reply was lost; retrying/)
  })

  it('two bridges on one queue publish each event once, and the standby takes over', async () => {
    const { prefix, queueName, published } = await freshSetup('mails')
    const bridges = [startBridge({ queues: [queueName], prefix, leaseMs: 600 }), startBridge({ queues: [queueName], prefix, leaseMs: 600 })]
    const leader = await until(() => bridges.find((bridge) => bridge.following().length === 1), 5_000, 'a bridge to take the lease')
    const standby = bridges.find((bridge) => bridge !== leader)!
    expect(standby.following()).toEqual([])
    const ids = await addJobs(queueName, 12)
    startWorker(queueName, 25)
    await firstCompleted(published)
    await leader.close()
    await until(() => standby.following().length === 1, 5_000, 'the standby to take over')
    await expectEachEventOnce(published, queueName, ids)
  })

  it('keeps following after Redis restarts empty', async () => {
    const { prefix, queueName, published } = await freshSetup('restarts')
    const queue = openQueue(queueName)
    startBridge({ queues: [queueName], prefix, retryDelayMs: 100, log: () => undefined })
    startWorker(queueName)
    const before = await queue.add('before', { rows: 1 })
    await until(() => published.get(`${queueName}:${before.id}`)?.at(-1)?.status === 'completed', 10_000, 'the first job to complete')
    await redis.restart()
    const after = await queue.add('after', { rows: 2 }, { jobId: 'after' })
    await until(() => published.get(`${queueName}:${after.id}`)?.at(-1)?.status === 'completed', 15_000, 'the job added after the restart to complete')
    expect(published.get(`${queueName}:after`)?.map((event) => event.status)).toEqual(['queued', 'active', 'active', 'active', 'completed'])
  })

  it('logs events trimmed before it read them, and a BullMQ id that is no jobcast id, then goes on', async () => {
    const { prefix, queueName, published } = await freshSetup('trimmed')
    const queue = openQueue(queueName)
    const first = startBridge({ queues: [queueName], prefix, log: () => undefined })
    const early = await queue.add('early', { rows: 1 })
    await until(() => published.get(`${queueName}:${early.id}`), 5_000, 'the first job to be queued')
    await first.close()
    await queue.add('odd', { rows: 2 }, { jobId: 'has space' })
    await queue.add('lost', { rows: 3 })
    await redis.raw.xtrim(`bull:${queueName}:events`, 'MAXLEN', 1)
    const late = await queue.add('late', { rows: 4 }, { jobId: 'late' })
    const logged: string[] = []
    startBridge({ queues: [queueName], prefix, log: (message) => logged.push(message) })
    await until(() => published.get(`${queueName}:late`), 5_000, 'the job added after the trim to be queued')
    expect(late.id).toBe('late')
    expect(logged.find((line) => line.includes('no longer holds'))).toMatch(/^\[jobcast\] .*Events in between are lost/)
    startWorker(queueName)
    await until(() => logged.find((line) => line.includes('"has space"')), 5_000, 'the invalid id to be logged')
    expect(logged.find((line) => line.includes('"has space"'))).toMatch(/^\[jobcast\] .*not a valid jobcast id/)
    await until(() => published.get(`${queueName}:late`)?.at(-1)?.status === 'completed', 10_000, 'the late job to complete')
  })
})
