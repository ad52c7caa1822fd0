// @ts-check
/**
 * One chaos run (issue 9): two gateway CLIs on one `redis-server` without persistence, behind a
 * round-robin front that cuts client connections; worker processes publish the plan's jobs,
 * page processes wait for them; Redis and the gateways are SIGKILLed and restarted on schedule.
 * Returns the verdict ({@link judgeRun}). Used by `npm run chaos` (run.mjs) and by the short run
 * in `npm test` (chaos.test.ts).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { now, sleep } from './child.mjs'
import { GATEWAY_COUNT, planFaults, planJobs } from './plan.mjs'
import { forkChild, killAll, killChild, startGateway, startRedis } from './processes.mjs'
import { judgeRun } from './verdict.mjs'

/** Worker processes publishing the jobs. */
const WORKER_PROCESSES = 2
/** Page processes: enough that no one event loop holds the pages back on two cores. */
const PAGE_PROCESSES = 3
/** Time for the children to start before the plan's time zero (early pages wait up to 1 s before it), ms. */
const STARTUP_MS = 3_000
/** Past the last page's own timeout, how long the run waits for reports before it counts the rest lost, ms. */
const REPORT_GRACE_MS = 15_000

/**
 * The settings of the long run, the default of `npm run chaos`.
 * @type {Readonly<import('./plan.mjs').ChaosSettings>}
 */
export const LONG_RUN = Object.freeze({
  jobs: 10_000,
  durationMs: 120_000,
  redisKills: 5,
  gatewayKills: 3,
  cutsPerSecond: 0.01,
  waitTimeoutMs: 120_000,
  seed: 1,
})

/**
 * A run's verdict, with the folder of every process's log (kept only when the run failed) and
 * how long the run took, ms.
 * @typedef {import('./verdict.mjs').Verdict & { logDir: string, elapsedMs: number }} ChaosResult
 */

/**
 * Runs the plan for `settings` and judges it. Every process it starts is killed before it
 * returns or throws.
 * @param {import('./plan.mjs').ChaosSettings} settings
 * @param {{ log?: (line: string) => void }} [options] `log`: progress lines (default: none)
 * @returns {Promise<ChaosResult>}
 */
export async function runChaos(settings, { log = () => {} } = {}) {
  const began = now()
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobcast-chaos-'))
  const prefix = `chaos${settings.seed.toString(36)}:`
  const plan = planJobs(settings)
  /** @type {import('./verdict.mjs').RunRecords} */
  const records = { plan, workers: new Map(), clients: new Map(), faults: [], cuts: 0, startedAt: 0, seed: settings.seed }
  /** @type {import('node:child_process').ChildProcess[]} */
  const forked = []
  try {
    const redis = await startRedis(logDir)
    const gateways = await Promise.all(
      Array.from({ length: GATEWAY_COUNT }, (_, i) => startGateway({ redisUrl: redis.url, prefix, logDir, name: `gateway-${i}` })),
    )
    /** @type {(message: { type: string, port?: number, cuts?: number }) => void} */
    let onFront = () => {}
    const front = forkChild('front.mjs', { upstreams: gateways.map((g) => g.port), cutsPerSecond: settings.cutsPerSecond }, (m) => onFront(m), path.join(logDir, 'front.log'))
    forked.push(front)
    const frontPort = await Promise.race([
      new Promise((resolve) => (onFront = (m) => m.type === 'listening' && resolve(m.port))),
      sleep(10_000).then(() => Promise.reject(new Error(`[jobcast] the chaos front did not listen within 10 s: see ${logDir}/front.log`))),
    ])
    log(`[jobcast] chaos: redis ${redis.url}, gateways ${gateways.map((g) => g.port).join(' ')}, front ${frontPort}; logs in ${logDir}`)

    records.startedAt = now() + STARTUP_MS
    const childSettings = { ...settings, redisUrl: redis.url, prefix, frontUrl: `http://127.0.0.1:${frontPort}`, startedAt: records.startedAt }
    let running = 0
    /** @type {() => void} */
    let allDone = () => {}
    const finished = new Promise((resolve) => (allDone = () => resolve(undefined)))
    /** @param {{ type: string, record?: any }} message */
    const onReport = (message) => {
      if (message.type === 'worker') records.workers.set(message.record.id, message.record)
      else if (message.type === 'client') records.clients.set(message.record.id, message.record)
      else if (message.type === 'done' && --running === 0) allDone()
    }
    for (const [script, count] of /** @type {const} */ ([['worker.mjs', WORKER_PROCESSES], ['pages.mjs', PAGE_PROCESSES]])) {
      for (let shard = 0; shard < count; shard++) {
        running++
        const logFile = path.join(logDir, `${script.replace('.mjs', '')}-${shard}.log`)
        let done = false
        const child = forkChild(script, { ...childSettings, shard, shards: count }, (message) => {
          done ||= message.type === 'done'
          onReport(message)
        }, logFile)
        // A child that dies early leaves its jobs without records (lost or unpublished): say
        // why, and do not wait for it until the deadline.
        child.once('exit', (code, signal) => {
          if (done) return
          log(`[jobcast] chaos: ${script} shard ${shard} exited early (${signal ?? `code ${code}`}): see ${logFile}`)
          if (--running === 0) allDone()
        })
        forked.push(child)
      }
    }

    // Faults in order, each one over (Redis back) before the next can start.
    /** @type {unknown} */
    let faultError
    const faults = (async () => {
      for (const fault of planFaults(settings)) {
        await sleep(records.startedAt + fault.at - now())
        const at = now()
        if (fault.kind === 'redis') {
          await redis.kill()
          await sleep(fault.downMs)
          await redis.restart()
          records.faults.push({ kind: 'redis', at, text: `redis SIGKILLed, back empty after ${((now() - at) / 1_000).toFixed(2)} s` })
        } else {
          const gateway = /** @type {Awaited<ReturnType<typeof startGateway>>} */ (gateways[fault.gateway])
          await gateway.kill()
          await gateway.restart()
          records.faults.push({ kind: 'gateway', at, text: `gateway-${fault.gateway} SIGKILLed, serving again after ${((now() - at) / 1_000).toFixed(2)} s` })
        }
        log(`[jobcast] chaos: ${records.faults.at(-1)?.text} (${((at - records.startedAt) / 1_000).toFixed(1)} s into the run)`)
      }
    })().catch((error) => {
      faultError = error
    })

    const deadline = records.startedAt + settings.durationMs + settings.waitTimeoutMs + REPORT_GRACE_MS
    await Promise.race([finished, sleep(deadline - now())])
    await faults
    if (faultError) throw faultError
    front.send('stats')
    records.cuts = await Promise.race([
      new Promise((resolve) => (onFront = (m) => m.type === 'stats' && resolve(m.cuts ?? 0))),
      sleep(2_000).then(() => 0),
    ])
  } finally {
    await Promise.all(forked.map(killChild))
    killAll()
  }
  const verdict = judgeRun(records)
  // The logs only matter to explain a failure.
  if (!verdict.failed) fs.rmSync(logDir, { recursive: true, force: true })
  return { ...verdict, logDir, elapsedMs: now() - began }
}
