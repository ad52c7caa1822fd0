/**
 * The PHP and the Python worker each run exports that the seed app queues; clients over
 * WebSocket, SSE and polling, holding the seed app's token, follow each to its download link,
 * also when Redis restarts empty in the middle of the export.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { waitForJob, type JobEvent, type TransportName } from '@jobcast/client'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { startGateway, type TestGateway } from '../../test/support/gateway.js'
import { phpInterpreter, pythonInterpreter } from '../../test/support/producers.js'
import { randomPrefix, startRedis, type TestRedis } from '../../test/support/redis.js'
import { startSeedApp } from '../seed-app/server.mjs'

const SECRET = 'workers-example-secret-of-at-least-32-bytes!'
const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'polling']

let redis: TestRedis
let gw: TestGateway
let seed: { url: string; close(): Promise<void> }
const prefix = randomPrefix()
beforeAll(async () => {
  redis = await startRedis()
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, authorizer: createJwtAuthorizer({ secret: SECRET }), pollRetryAfterSeconds: 0 })
  seed = await startSeedApp({ redisUrl: redis.url, secret: SECRET, gatewayUrl: gw.url, prefix })
})
afterAll(async () => {
  await seed?.close()
  await gw?.close()
  await redis?.stop()
})

/** Starts a worker process; resolves once it waits for exports. */
function startWorker(command: string, script: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, [fileURLToPath(new URL(script, import.meta.url))], {
    env: { ...process.env, JOBCAST_REDIS_URL: redis.url, JOBCAST_PREFIX: prefix, JOBCAST_STEP_MS: '150' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`[jobcast] ${script} did not start: ${output}`)), 10_000)
    child.stdout!.on('data', () => {
      if (!output.includes('waiting for exports')) return
      clearTimeout(timer)
      resolve({ child, output: () => output })
    })
    child.once('exit', (code) => reject(new Error(`[jobcast] ${script} exited with ${code}: ${output}`)))
  })
}

/** Asks the seed app for an export and follows it on every transport at once. */
async function exportFollowedEverywhere(onStep?: (job: JobEvent) => void) {
  const response = await fetch(`${seed.url}/exports`, { method: 'POST', body: JSON.stringify({ rows: 300 }), headers: { 'content-type': 'application/json' } })
  expect(response.status).toBe(202)
  const { jobId, token } = (await response.json()) as { jobId: string; token: string }
  const seen = TRANSPORTS.map((): JobEvent[] => [])
  const jobs = await Promise.all(
    TRANSPORTS.map((transport, index) =>
      waitForJob(jobId, {
        url: gw.url,
        token,
        transports: [transport],
        WebSocket,
        poll: { initial: 50, max: 200, factor: 2 },
        timeout: 30_000,
        onProgress: (job) => {
          seen[index]!.push(job)
          onStep?.(job)
        },
      }),
    ),
  )
  return { jobId, jobs, seen }
}

describe.each([
  { language: 'PHP', command: phpInterpreter, script: './worker.php' },
  { language: 'Python', command: pythonInterpreter, script: './worker.py' },
])('the $language worker', ({ command, script }) => {
  let worker: { child: ChildProcess; output: () => string }
  beforeAll(async () => {
    worker = await startWorker(command(), script)
  })
  afterAll(() => {
    worker?.child.kill('SIGTERM')
  })

  it('runs an export that clients over WebSocket, SSE and polling follow to its download link', async () => {
    const { jobId, jobs, seen } = await exportFollowedEverywhere()
    for (const job of jobs) expect(job).toMatchObject({ status: 'completed', progress: 100, result: { downloadUrl: `/downloads/${jobId}.csv`, rows: 300 } })
    for (const events of seen) {
      const steps = events.flatMap((job) => (typeof job.progress === 'number' ? [job.progress] : []))
      expect([...steps].sort((a, b) => a - b)).toEqual(steps)
    }
    expect(worker.output()).toContain(`running ${jobId}`)
  }, 40_000)

  it('still ends on the download link when Redis restarts empty mid-export', async () => {
    let restarted: Promise<void> | undefined
    const { jobId, jobs } = await exportFollowedEverywhere((job) => {
      if (restarted === undefined && (job.progress ?? 0) >= 30) restarted = redis.restart()
    })
    expect(restarted).toBeDefined()
    await restarted
    for (const job of jobs) expect(job).toMatchObject({ status: 'completed', result: { downloadUrl: `/downloads/${jobId}.csv` } })
  }, 40_000)
})
