#!/usr/bin/env node
// A worker that takes export jobs from a Redis list and reports their progress with the
// jobcast publisher. Run: JOBCAST_REDIS_URL=redis://127.0.0.1:6379 node examples/worker/worker.mjs
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { createPublisher } from '@jobcast/gateway/publisher'

/** The Redis list the seed app pushes export requests to. */
export const QUEUE_KEY = 'jobcast-example:exports'

/**
 * Runs one simulated export, publishing `active` steps and then `completed` with a download link.
 * @param {import('@jobcast/gateway/publisher').Publisher} publisher
 * @param {{ jobId: string, rows?: number }} job
 * @param {{ steps?: number, stepMs?: number }} [options]
 */
export async function runExport(publisher, job, { steps = 10, stepMs = 200 } = {}) {
  const rows = job.rows ?? 1000
  await publisher.active(job.jobId, { progress: 0, message: 'Starting export' })
  for (let step = 1; step < steps; step++) {
    await new Promise((resolve) => setTimeout(resolve, stepMs))
    const processed = Math.round((rows * step) / steps)
    await publisher.progress(job.jobId, Math.round((100 * step) / steps), {
      message: `Exported ${processed} of ${rows} rows`,
      data: { processed, total: rows },
    })
  }
  await new Promise((resolve) => setTimeout(resolve, stepMs))
  await publisher.complete(
    job.jobId,
    { downloadUrl: `/downloads/${encodeURIComponent(job.jobId)}.csv`, rows },
    { message: `Exported ${rows} rows` },
  )
}

/**
 * Takes jobs from {@link QUEUE_KEY} until stopped.
 * @param {{ redisUrl: string, prefix?: string, stepMs?: number, log?: (line: string) => void }} options
 * @returns {{ stop(): Promise<void>, done: Promise<void> }}
 */
export function startWorker({ redisUrl, prefix, stepMs, log = () => {} }) {
  // BRPOP blocks its connection, so the queue gets its own; the publisher has another.
  const queue = new Redis(redisUrl, { maxRetriesPerRequest: null })
  queue.on('error', (error) => log(`[jobcast] worker: redis error (${error.message}), retrying`))
  const publisher = createPublisher({ url: redisUrl, ...(prefix ? { prefix } : {}) })
  let running = true
  const done = (async () => {
    while (running) {
      let popped
      try {
        popped = await queue.brpop(QUEUE_KEY, 1)
      } catch (error) {
        if (!running) break
        log(`[jobcast] worker: ${error.message}`)
        await new Promise((resolve) => setTimeout(resolve, 500))
        continue
      }
      if (!popped) continue
      const job = JSON.parse(popped[1])
      log(`worker: running ${job.jobId}`)
      try {
        await runExport(publisher, job, { stepMs })
        log(`worker: ${job.jobId} completed`)
      } catch (error) {
        await publisher.fail(job.jobId, error).catch(() => {})
        log(`[jobcast] worker: ${job.jobId} failed: ${error.message}`)
      }
    }
  })()
  return {
    done,
    async stop() {
      running = false
      queue.disconnect()
      await done
      await publisher.close()
    },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const redisUrl = process.env.JOBCAST_REDIS_URL ?? 'redis://127.0.0.1:6379'
  const worker = startWorker({ redisUrl, prefix: process.env.JOBCAST_PREFIX, log: (line) => console.log(line) })
  console.log(`worker: waiting for exports on ${redisUrl} (list ${QUEUE_KEY}); Ctrl+C to stop`)
  const stop = () => worker.stop().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
