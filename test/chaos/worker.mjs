// @ts-check
/**
 * A chaos worker process: publishes its share of the plan's jobs through `createPublisher` from
 * the built `@jobcast/gateway/publisher`, as a real worker would, and retries a publish that
 * throws. Each step is resent unchanged (same `ts`), so a retry after a lost reply is answered
 * with the first outcome instead of publishing twice. Reports one record per job to the parent.
 */
import { createPublisher } from '@jobcast/gateway/publisher'
import { PLANNED_FAILURE_CODE, planJobs, shardOf } from './plan.mjs'
import { childSettings, now, sleep, reportToParent } from './child.mjs'

/** How long a worker keeps retrying one step before it gives up on the job, ms. */
const RETRY_FOR_MS = 60_000

const settings = await childSettings()
const publisher = createPublisher({ url: settings.redisUrl, prefix: settings.prefix })
const jobs = shardOf(planJobs(settings), settings.shard, settings.shards)

/**
 * @param {import('./plan.mjs').PlannedJob} job
 * @returns {Promise<import('./verdict.mjs').WorkerRecord>}
 */
async function runJob(job) {
  /** @type {import('./verdict.mjs').WorkerRecord} */
  const record = { id: job.id, terminalAt: undefined, gaveUp: false, log: [] }
  const jobStart = settings.startedAt + job.startAt
  for (const step of job.steps) {
    await sleep(jobStart + step.at - now())
    const ts = Math.round(now())
    const firstTry = now()
    for (let attempt = 0; ; attempt++) {
      const tryAt = now()
      try {
        const outcome =
          step.status === 'queued'
            ? await publisher.queued(job.id, { ts })
            : step.status === 'active'
              ? await publisher.progress(job.id, step.progress ?? 0, { ts })
              : step.status === 'completed'
                ? await publisher.complete(job.id, { jobId: job.id }, { ts })
                : await publisher.fail(job.id, { message: `job ${job.id} failed on purpose`, code: PLANNED_FAILURE_CODE }, { ts })
        const seq = outcome.published ? ` seq ${outcome.event.seq}` : ` refused, job is ${outcome.current.status}`
        record.log.push([tryAt, `${step.status}${step.progress !== undefined ? ` ${step.progress}` : ''} published${seq}${attempt ? ` (try ${attempt + 1})` : ''}`])
        if (step.status === 'completed' || step.status === 'failed') record.terminalAt = tryAt
        break
      } catch (error) {
        // The first throw says why; the retries that follow show in the line of the one that worked.
        if (attempt === 0) record.log.push([tryAt, `${step.status} publish threw: ${error instanceof Error ? error.message : String(error)}`])
        if (now() - firstTry > RETRY_FOR_MS) {
          record.log.push([now(), `${step.status} gave up after ${attempt + 1} tries`])
          record.gaveUp = true
          return record
        }
        // Capped exponential backoff with jitter, as a worker's retry policy would be.
        await sleep(Math.random() * Math.min(1_000, 50 * 2 ** attempt))
      }
    }
  }
  return record
}

await Promise.all(
  jobs.map(async (job) => {
    reportToParent({ type: 'worker', record: await runJob(job) })
  }),
)
await publisher.close()
reportToParent({ type: 'done' })
