// @ts-check
/**
 * The chaos run's script, decided before anything starts: every job (its transport, when its
 * worker publishes what, when its page starts waiting) and every fault (when, what). Pure and
 * seeded, so the worker and client processes each rebuild the same plan from the seed alone, and
 * a failing run can be replayed with its seed.
 */
import { seededRandom } from '../support/seeded-random.mjs'

/** The transports a page waits with: one of the client's, or its default chain. */
export const TRANSPORT_CASES = /** @type {const} */ (['websocket', 'sse', 'polling', 'default'])

/** @typedef {typeof TRANSPORT_CASES[number]} TransportCase */

/**
 * One step a worker publishes, `at` ms after its job starts, and never before the previous step
 * is published: after an outage the worker catches up, as a real one would.
 * @typedef {{ status: 'queued' | 'active' | 'completed' | 'failed', progress?: number, at: number }} PlannedStep
 */

/**
 * One job of the run.
 * @typedef {object} PlannedJob
 * @property {number} index position in the plan
 * @property {string} id job id, unique per run
 * @property {TransportCase} transport how its page waits
 * @property {boolean} early the page starts waiting before `queued` is published
 * @property {boolean} fails the job ends `failed` instead of `completed`
 * @property {number} startAt ms after the run's start when the worker publishes `queued`
 * @property {number} waitAt ms after the run's start when the page starts waiting
 * @property {PlannedStep[]} steps what the worker publishes, in order, the terminal step last
 */

/**
 * One fault, `at` ms after the run's start.
 * @typedef {{ kind: 'redis', at: number, downMs: number } | { kind: 'gateway', at: number, gateway: number }} PlannedFault
 */

/**
 * What a run is asked to do.
 * @typedef {object} ChaosSettings
 * @property {number} jobs jobs in the run
 * @property {number} durationMs ms over which jobs start (the last ones finish a few seconds later)
 * @property {number} redisKills Redis SIGKILLed and restarted empty this many times
 * @property {number} gatewayKills a gateway SIGKILLed and restarted this many times
 * @property {number} cutsPerSecond fraction of client connections the front cuts per second
 * @property {number} waitTimeoutMs the `timeout` of every `waitForJob`, ms
 * @property {number} seed seed of the plan
 */

/** The error code of a job that fails on purpose, checked on the page's side. */
export const PLANNED_FAILURE_CODE = 'chaos_planned_failure'

/** Gateways behind the front. */
export const GATEWAY_COUNT = 2

/**
 * Every job of the run. Jobs start evenly over the duration, less a tail of a few seconds so
 * the last ones end inside it. Transports and early/late waits are assigned in turn, so each of
 * the eight combinations gets an eighth of the jobs; one job in ten fails.
 * @param {Pick<ChaosSettings, 'jobs' | 'durationMs' | 'seed'>} settings
 * @returns {PlannedJob[]}
 */
export function planJobs({ jobs, durationMs, seed }) {
  const random = seededRandom(seed)
  const between = (/** @type {number} */ low, /** @type {number} */ high) => low + random() * (high - low)
  const startSpan = Math.max(0, durationMs - 4_000)
  const tag = seed.toString(36)
  /** @type {PlannedJob[]} */
  const plan = []
  for (let index = 0; index < jobs; index++) {
    const transport = TRANSPORT_CASES[index % TRANSPORT_CASES.length] ?? 'default'
    const early = Math.floor(index / TRANSPORT_CASES.length) % 2 === 0
    const fails = random() < 0.1
    const startAt = Math.round((index / Math.max(1, jobs)) * startSpan + between(0, 50))
    /** @type {PlannedStep[]} */
    const steps = [{ status: 'queued', at: 0 }]
    let at = between(100, 400)
    const progressSteps = 2 + Math.floor(random() * 3)
    for (let step = 1; step <= progressSteps; step++) {
      steps.push({ status: 'active', progress: Math.round((step / (progressSteps + 1)) * 100), at: Math.round(at) })
      at += between(150, 600)
    }
    steps.push({ status: fails ? 'failed' : 'completed', at: Math.round(at) })
    // An early page waits up to a second before the job exists: well inside the client's
    // not-found grace. A late one may start after the job has ended (it reads the snapshot).
    const waitAt = early ? startAt - Math.round(between(50, 1_000)) : startAt + Math.round(between(50, at + 1_000))
    plan.push({ index, id: `chaos-${tag}-${index}`, transport, early, fails, startAt, waitAt, steps })
  }
  return plan
}

/**
 * The faults: spread evenly over the middle of the run (from a tenth to three quarters of the
 * duration), so the run starts clean and the last jobs finish after the last fault. Redis and
 * gateway kills alternate where both are asked for.
 * @param {Pick<ChaosSettings, 'durationMs' | 'redisKills' | 'gatewayKills' | 'seed'>} settings
 * @returns {PlannedFault[]}
 */
export function planFaults({ durationMs, redisKills, gatewayKills, seed }) {
  const random = seededRandom(seed ^ 0x5eed)
  /** @type {Array<'redis' | 'gateway'>} */
  const kinds = []
  for (let i = 0; i < Math.max(redisKills, gatewayKills); i++) {
    if (i < redisKills) kinds.push('redis')
    if (i < gatewayKills) kinds.push('gateway')
  }
  const first = durationMs * 0.1
  const slot = (durationMs * 0.75 - first) / Math.max(1, kinds.length)
  let gatewayKillsSoFar = 0
  return kinds.map((kind, i) => {
    const at = Math.round(first + slot * i + random() * slot * 0.5)
    return kind === 'redis'
      ? { kind, at, downMs: Math.round(1_000 + random() * 1_000) }
      : { kind, at, gateway: gatewayKillsSoFar++ % GATEWAY_COUNT }
  })
}

/**
 * The jobs one of `shards` processes takes care of.
 * @param {PlannedJob[]} plan
 * @param {number} shard 0-based
 * @param {number} shards
 */
export function shardOf(plan, shard, shards) {
  return plan.filter((job) => job.index % shards === shard)
}
