/**
 * The short chaos run inside `npm test` (issue 9): 1,000 jobs over 30 s through two gateway
 * CLIs behind a cutting front, Redis SIGKILLed twice and a gateway once. Fails on any lost,
 * wrong or regressed job, with the summary line and a few timelines in the message. Runs the
 * built packages (`npm test` builds first); `npm run chaos` is the long run.
 */
import { describe, expect, it } from 'vitest'
import { runChaos } from './run-chaos.mjs'

/**
 * Shorter than the long run's 120 s wait: a page that has not learnt the end 30 s after a
 * two-second outage is lost all the same, and the run stays well under two minutes.
 */
const SHORT_RUN = {
  jobs: 1_000,
  durationMs: 30_000,
  redisKills: 2,
  gatewayKills: 1,
  cutsPerSecond: 0.01,
  waitTimeoutMs: 30_000,
  // A failing run names its seed in the summary: JOBCAST_CHAOS_SEED=<seed> replays its plan.
  seed: Number(process.env.JOBCAST_CHAOS_SEED) || Math.floor(Math.random() * 2 ** 31),
}

describe('chaos, short run', () => {
  it('every page learns its job’s final state through Redis and gateway kills and connection cuts', { timeout: 120_000 }, async () => {
    const result = await runChaos(SHORT_RUN)
    const report = [result.summary, ...(result.failed ? [result.causes.join('\n'), `logs: ${result.logDir}`, ...result.examples] : [])].join('\n\n')
    console.log(result.summary)
    expect(result.failed, report).toBe(false)
    expect(result.total.jobs).toBe(SHORT_RUN.jobs)
  })
})
