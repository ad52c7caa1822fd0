// @ts-check
/**
 * The verdict of a chaos run, from what the worker and client processes reported: each job is
 * lost, wrong, regressed or fine, and the run is summed up in one line. Pure: records in, text
 * out, so the rules are tested with literal records (verdict.test.ts).
 */
import { PLANNED_FAILURE_CODE, TRANSPORT_CASES } from './plan.mjs'

/** @typedef {import('./plan.mjs').PlannedJob} PlannedJob */
/** @typedef {import('./plan.mjs').TransportCase} TransportCase */

/**
 * What a worker reports of one job. Times are ms since the epoch.
 * @typedef {object} WorkerRecord
 * @property {string} id
 * @property {number | undefined} terminalAt start of the terminal publish attempt that succeeded
 * @property {boolean} gaveUp a step could not be published within the worker's retry bound
 * @property {Array<[number, string]>} log what happened, for the examples
 */

/**
 * One update a page received (`onProgress`).
 * @typedef {{ at: number, seq: number, status: string, progress?: number, transport: string }} Update
 */

/**
 * How a wait ended.
 * @typedef {{ kind: 'completed', result: unknown } | { kind: 'rejected', name: string, code: string, message: string, status?: string, errorCode?: string }} Outcome
 */

/**
 * What a client process reports of one job. Times are ms since the epoch.
 * @typedef {object} ClientRecord
 * @property {string} id
 * @property {number} waitedAt when `waitForJob` was called
 * @property {number | undefined} settledAt when it settled (`undefined`: never)
 * @property {Outcome | undefined} outcome
 * @property {Update[]} updates
 * @property {string | undefined} wireAnomaly the first event the gateway sent out of order, seen beneath the client
 */

/**
 * A fault as it happened. Times are ms since the epoch.
 * @typedef {{ kind: 'redis' | 'gateway', at: number, text: string }} FaultRecord
 */

/**
 * Everything the verdict reads.
 * @typedef {object} RunRecords
 * @property {PlannedJob[]} plan
 * @property {Map<string, WorkerRecord>} workers
 * @property {Map<string, ClientRecord>} clients
 * @property {FaultRecord[]} faults
 * @property {number} cuts client connections the front cut
 * @property {number} startedAt the run's time zero, ms since the epoch
 * @property {number} seed
 */

/** @typedef {'ok' | 'lost' | 'wrong' | 'unpublished'} JobClass */

/**
 * A job's class, why in words, and its cause: the why without what is particular to the job,
 * so failures of one cause can be counted together.
 * @typedef {{ verdict: JobClass, why: string, cause: string }} Classification
 */

const STATUS_RANK = /** @type {Record<string, number>} */ ({ queued: 0, active: 1, completed: 2, failed: 2, cancelled: 2 })

/**
 * Why a job's updates went backwards: a seq not above the previous one (a duplicate or an older
 * event), a lower progress while active, or a status earlier than one already seen.
 * @param {Update[]} updates
 * @returns {string | undefined}
 */
export function regressionOf(updates) {
  for (let i = 1; i < updates.length; i++) {
    const before = /** @type {Update} */ (updates[i - 1])
    const update = /** @type {Update} */ (updates[i])
    if (update.seq === before.seq) return `duplicate seq ${update.seq}`
    if (update.seq < before.seq) return `seq ${update.seq} after ${before.seq}`
    if ((STATUS_RANK[update.status] ?? 0) < (STATUS_RANK[before.status] ?? 0)) return `${update.status} after ${before.status}`
    if (update.status === 'active' && before.status === 'active' && (update.progress ?? 0) < (before.progress ?? 0)) {
      return `progress ${update.progress} after ${before.progress}`
    }
  }
  return undefined
}

/**
 * Lost: the page never learnt an end (no settlement, or its own deadline passed). Wrong: it
 * settled otherwise than the job ended (another status, a result that does not name the job, an
 * error). Unpublished: the worker itself could not publish the end, so the page cannot know it.
 * @param {PlannedJob} job
 * @param {WorkerRecord | undefined} worker
 * @param {ClientRecord | undefined} client
 * @returns {Classification}
 */
export function classifyJob(job, worker, client) {
  if (!worker || worker.gaveUp || worker.terminalAt === undefined) {
    return { verdict: 'unpublished', why: 'the worker could not publish the end', cause: 'unpublished' }
  }
  const outcome = client?.outcome
  if (!client || !outcome) return { verdict: 'lost', why: 'never settled', cause: 'lost: never settled' }
  if (outcome.kind === 'rejected' && outcome.name === 'JobTimeoutError') {
    return { verdict: 'lost', why: `timed out (${outcome.message})`, cause: `lost: timed out${outcome.status ? ` at ${outcome.status}` : ''}` }
  }
  const expected = job.fails ? 'failed' : 'completed'
  const got = outcome.kind === 'completed' ? 'completed' : `${outcome.name} ${outcome.code}`
  const ok = { verdict: /** @type {const} */ ('ok'), why: '', cause: '' }
  if (job.fails && outcome.kind === 'rejected' && outcome.name === 'JobFailedError' && outcome.errorCode === PLANNED_FAILURE_CODE) return ok
  if (!job.fails && outcome.kind === 'completed') {
    const named = /** @type {{ jobId?: unknown } | null} */ (outcome.result)?.jobId
    if (named === job.id) return ok
    return { verdict: 'wrong', why: `completed with a result naming ${String(named)}`, cause: 'wrong: completed with another result' }
  }
  return { verdict: 'wrong', why: `expected ${expected}, got ${describeOutcome(outcome)}`, cause: `wrong: expected ${expected}, got ${got}` }
}

/** @param {Outcome} outcome */
function describeOutcome(outcome) {
  if (outcome.kind === 'completed') return 'completed'
  return `${outcome.name} ${outcome.code}${outcome.status ? ` (job ${outcome.status})` : ''}: ${outcome.message}`
}

/**
 * Nearest-rank percentile of ascending numbers; `NaN` when there are none.
 * @param {number[]} sorted
 * @param {number} percent 0–100
 */
export function percentile(sorted, percent) {
  if (sorted.length === 0) return Number.NaN
  return /** @type {number} */ (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1))])
}

/** @param {number} ms */
const formatMs = (ms) => (Number.isNaN(ms) ? '-' : ms >= 1_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.round(ms)} ms`)

/**
 * @typedef {object} Tally
 * @property {number} jobs
 * @property {number} lost
 * @property {number} wrong
 * @property {number} regressions
 * @property {number} unpublished
 * @property {number[]} latencies terminal publish → settled, ms, ascending once finished
 */

/** @returns {Tally} */
const emptyTally = () => ({ jobs: 0, lost: 0, wrong: 0, regressions: 0, unpublished: 0, latencies: [] })

/**
 * @typedef {object} Verdict
 * @property {boolean} failed any job lost, wrong, regressed or unpublished
 * @property {string} summary the one summary line
 * @property {string[]} causes one line per cause of failure, with its count per transport and wait side (empty when none failed)
 * @property {string[]} examples a few failing jobs with their timelines (empty when none failed)
 * @property {Tally} total
 * @property {Record<TransportCase, Tally>} byTransport
 */

/**
 * Judges a run. A regression is one the page saw (`onProgress`) or one the client filtered out
 * beneath it (a duplicate or older seq on the wire). The latency counts only pages that were
 * already waiting when the end was published: for a page that starts later it would measure
 * its start, not the delivery.
 * @param {RunRecords} records
 * @returns {Verdict}
 */
export function judgeRun(records) {
  const total = emptyTally()
  const byTransport = /** @type {Record<TransportCase, Tally>} */ (Object.fromEntries(TRANSPORT_CASES.map((name) => [name, emptyTally()])))
  /** @type {Array<{ job: PlannedJob, why: string, cause: string }>} */
  const failures = []
  for (const job of records.plan) {
    const worker = records.workers.get(job.id)
    const client = records.clients.get(job.id)
    const tallies = [total, byTransport[job.transport]]
    const { verdict, why, cause } = classifyJob(job, worker, client)
    const regression = client ? (regressionOf(client.updates) ?? client.wireAnomaly) : undefined
    for (const tally of tallies) {
      tally.jobs++
      if (verdict !== 'ok') tally[verdict]++
      if (regression) tally.regressions++
    }
    if (verdict !== 'ok') failures.push({ job, why: `${verdict}: ${why}`, cause })
    else if (regression) failures.push({ job, why: `regression: ${regression}`, cause: `regression: ${regression.replace(/\d+/g, 'N')}` })
    if (verdict === 'ok' && worker?.terminalAt !== undefined && client?.settledAt !== undefined && client.waitedAt <= worker.terminalAt) {
      for (const tally of tallies) tally.latencies.push(Math.max(0, client.settledAt - worker.terminalAt))
    }
  }
  for (const tally of [total, ...Object.values(byTransport)]) tally.latencies.sort((a, b) => a - b)
  const failed = failures.length > 0
  const count = (/** @type {'redis' | 'gateway'} */ kind) => records.faults.filter((fault) => fault.kind === kind).length
  const latency = (/** @type {Tally} */ tally) => `p50 ${formatMs(percentile(tally.latencies, 50))} p99 ${formatMs(percentile(tally.latencies, 99))}`
  const perTransport = TRANSPORT_CASES.map((name) => {
    const tally = byTransport[name]
    return `${name} ${tally.jobs}: lost ${tally.lost} wrong ${tally.wrong} regr ${tally.regressions} ${latency(tally)}`
  }).join(' | ')
  const summary =
    `[jobcast] chaos ${failed ? 'FAIL' : 'pass'}: ${total.jobs} jobs · faults: redis kills ${count('redis')}, gateway kills ${count('gateway')}, cuts ${records.cuts}` +
    ` · lost ${total.lost} · wrong ${total.wrong} · regressions ${total.regressions}${total.unpublished ? ` · unpublished ${total.unpublished}` : ''}` +
    ` · terminal publish → settled ${latency(total)} · ${perTransport} · seed ${records.seed}`
  const examples = pickExamples(failures).map(({ job, why }) => timelineOf(job, why, records))
  return { failed, summary, causes: countCauses(failures), examples, total, byTransport }
}

/**
 * One line per cause, commonest first, with its count per transport and side of the wait (an
 * early page waited before `queued`, a late one after).
 * @param {Array<{ job: PlannedJob, cause: string }>} failures
 */
function countCauses(failures) {
  /** @type {Map<string, Map<string, number>>} */
  const counts = new Map()
  for (const { job, cause } of failures) {
    const perTransport = counts.get(cause) ?? new Map()
    const where = `${job.transport} ${job.early ? 'early' : 'late'}`
    perTransport.set(where, (perTransport.get(where) ?? 0) + 1)
    counts.set(cause, perTransport)
  }
  const sum = (/** @type {Map<string, number>} */ perTransport) => [...perTransport.values()].reduce((a, b) => a + b, 0)
  return [...counts]
    .sort(([, a], [, b]) => sum(b) - sum(a))
    .map(([cause, perTransport]) => `${String(sum(perTransport)).padStart(6)} × ${cause} (${[...perTransport].map(([name, n]) => `${name} ${n}`).join(', ')})`)
}

/**
 * Up to two failures of each cause and transport, at most eight, so the examples show every
 * distinct way the run failed rather than eight of the commonest.
 * @param {Array<{ job: PlannedJob, why: string, cause: string }>} failures
 */
function pickExamples(failures) {
  /** @type {Map<string, number>} */
  const seen = new Map()
  const picked = []
  for (const failure of failures) {
    const key = `${failure.cause} ${failure.job.transport}`
    const times = seen.get(key) ?? 0
    if (times >= 2) continue
    seen.set(key, times + 1)
    picked.push(failure)
    if (picked.length === 8) break
  }
  return picked
}

/**
 * One job's story: the worker's publishes, the page's updates and the faults around them, in
 * order, in seconds since the run started.
 * @param {PlannedJob} job
 * @param {string} why
 * @param {RunRecords} records
 */
export function timelineOf(job, why, records) {
  const worker = records.workers.get(job.id)
  const client = records.clients.get(job.id)
  /** @type {Array<[number, string]>} */
  const lines = [...(worker?.log ?? []).map(([at, text]) => /** @type {[number, string]} */ ([at, `worker ${text}`]))]
  if (client) {
    lines.push([client.waitedAt, `page  waits (${job.transport}, ${job.early ? 'before' : 'after'} queued)`])
    for (const update of client.updates) {
      lines.push([update.at, `page  ${update.status}${update.progress !== undefined ? ` ${update.progress}` : ''} seq ${update.seq} via ${update.transport}`])
    }
    if (client.settledAt !== undefined && client.outcome) lines.push([client.settledAt, `page  settled: ${describeOutcome(client.outcome)}`])
  }
  const from = Math.min(...lines.map(([at]) => at)) - 2_000
  const to = Math.max(...lines.map(([at]) => at))
  for (const fault of records.faults) if (fault.at >= from && fault.at <= to) lines.push([fault.at, `fault ${fault.text}`])
  lines.sort((a, b) => a[0] - b[0])
  const seconds = (/** @type {number} */ at) => `${((at - records.startedAt) / 1_000).toFixed(3).padStart(8)} s`
  return [`${job.id} — ${why}`, ...lines.map(([at, text]) => `  ${seconds(at)}  ${text}`)].join('\n')
}
