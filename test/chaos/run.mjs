// @ts-check
/**
 * `npm run chaos` (after the build): the delivery promise under faults, issue 9. Prints progress
 * on stderr, then ONE summary line on stdout, and on failure a few failing jobs with their
 * timelines; exits 1 on any lost, wrong or regressed job (2 on bad flags).
 *
 * Flags (env in brackets), defaults = the long run:
 *   --jobs <n>            [JOBCAST_CHAOS_JOBS]           10000
 *   --duration <s>        [JOBCAST_CHAOS_DURATION]       120   seconds over which jobs start
 *   --redis-kills <n>     [JOBCAST_CHAOS_REDIS_KILLS]    5
 *   --gateway-kills <n>   [JOBCAST_CHAOS_GATEWAY_KILLS]  3
 *   --cuts <fraction>     [JOBCAST_CHAOS_CUTS]           0.01  client connections cut per second
 *   --timeout <s>         [JOBCAST_CHAOS_TIMEOUT]        120   each waitForJob's timeout
 *   --seed <n>            [JOBCAST_CHAOS_SEED]           random; printed, to replay a run
 * e.g. the short run: npm run chaos -- --jobs 1000 --duration 30 --redis-kills 2 --gateway-kills 1 --timeout 30
 */
import { parseArgs } from 'node:util'
import { LONG_RUN, runChaos } from './run-chaos.mjs'

/** Flag → [env var, setting, scale from the flag's unit to the setting's]. */
const FLAGS = /** @type {const} */ ({
  jobs: ['JOBCAST_CHAOS_JOBS', 'jobs', 1],
  duration: ['JOBCAST_CHAOS_DURATION', 'durationMs', 1_000],
  'redis-kills': ['JOBCAST_CHAOS_REDIS_KILLS', 'redisKills', 1],
  'gateway-kills': ['JOBCAST_CHAOS_GATEWAY_KILLS', 'gatewayKills', 1],
  cuts: ['JOBCAST_CHAOS_CUTS', 'cutsPerSecond', 1],
  timeout: ['JOBCAST_CHAOS_TIMEOUT', 'waitTimeoutMs', 1_000],
  seed: ['JOBCAST_CHAOS_SEED', 'seed', 1],
})

/** @returns {import('./plan.mjs').ChaosSettings} */
function settingsFromArgs() {
  const { values } = parseArgs({ options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' }])) })
  const settings = { ...LONG_RUN, seed: Math.floor(Math.random() * 2 ** 31) }
  for (const [flag, [env, key, scale]] of Object.entries(FLAGS)) {
    const raw = values[flag] ?? process.env[env]
    if (raw === undefined || raw === '') continue
    const value = Number(raw)
    if (typeof raw !== 'string' || !Number.isFinite(value) || value < 0) {
      throw new Error(`[jobcast] --${flag} (${env}) must be a non-negative number, got "${String(raw)}": see the top of test/chaos/run.mjs`)
    }
    settings[key] = key === 'cutsPerSecond' ? value : Math.round(value * scale)
  }
  return settings
}

/** @type {import('./plan.mjs').ChaosSettings} */
let settings
try {
  settings = settingsFromArgs()
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(2)
}
// Ctrl-C or a CI timeout: exit through 'exit', which kills every process the run started.
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.once(signal, () => process.exit(130))

const result = await runChaos(settings, { log: (line) => console.error(line) })
console.error(`[jobcast] chaos: done in ${(result.elapsedMs / 1_000).toFixed(0)} s`)
console.log(result.summary)
if (result.failed) {
  console.log(`\ncauses:\n${result.causes.join('\n')}`)
  console.log(`\nexamples (logs of every process in ${result.logDir}):\n`)
  console.log(result.examples.join('\n\n'))
}
process.exit(result.failed ? 1 : 0)
