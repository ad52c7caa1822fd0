// @ts-check
/**
 * A chaos client process: plays the pages of its share of the plan's jobs. Each page calls
 * `waitForJob` from the built `@jobcast/client` once, through the front, with its planned
 * transports (Node 20 has no global WebSocket: `ws`'s is passed in the options), and reports
 * every update it saw, how the wait ended, and the first seq the gateway sent out of order
 * (wire-watch.mjs).
 */
import { waitForJob } from '@jobcast/client'
import { planJobs, shardOf } from './plan.mjs'
import { childSettings, now, reportToParent, sleep } from './child.mjs'
import { watchedFetch, watchedWebSocket } from './wire-watch.mjs'

const settings = await childSettings()
const jobs = shardOf(planJobs(settings), settings.shard, settings.shards)

/**
 * @param {import('./plan.mjs').PlannedJob} job
 * @returns {Promise<import('./verdict.mjs').ClientRecord>}
 */
async function playPage(job) {
  await sleep(settings.startedAt + job.waitAt - now())
  /** @type {import('./verdict.mjs').ClientRecord} */
  const record = { id: job.id, waitedAt: now(), settledAt: undefined, outcome: undefined, updates: [], wireAnomaly: undefined }
  const onAnomaly = (/** @type {string} */ what) => {
    record.wireAnomaly ??= what
  }
  try {
    const event = await waitForJob(job.id, {
      url: settings.frontUrl,
      WebSocket: watchedWebSocket(onAnomaly),
      fetch: watchedFetch(onAnomaly),
      ...(job.transport === 'default' ? {} : { transports: [job.transport] }),
      timeout: settings.waitTimeoutMs,
      onProgress: (update, info) => {
        record.updates.push({ at: now(), seq: update.seq, status: update.status, progress: update.progress, transport: info.transport })
      },
    })
    record.outcome = { kind: 'completed', result: event.result }
  } catch (error) {
    const failure = /** @type {Error & { code?: string, job?: { status?: string, error?: { code?: string } } }} */ (error)
    record.outcome = {
      kind: 'rejected',
      name: failure.name,
      code: failure.code ?? '',
      message: failure.message,
      status: failure.job?.status,
      errorCode: failure.job?.error?.code,
    }
  }
  record.settledAt = now()
  return record
}

await Promise.all(
  jobs.map(async (job) => {
    reportToParent({ type: 'client', record: await playPage(job) })
  }),
)
reportToParent({ type: 'done' })
