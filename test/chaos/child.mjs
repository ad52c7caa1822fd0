// @ts-check
/**
 * What every chaos child process shares: its settings from the parent, the clock, and reports
 * back over the IPC channel. A child whose parent is gone exits at once, so none outlives a run.
 */
import { performance } from 'node:perf_hooks'

/**
 * What the parent tells a worker or client process.
 * @typedef {import('./plan.mjs').ChaosSettings & { redisUrl: string, prefix: string, frontUrl: string, startedAt: number, shard: number, shards: number }} ChildSettings
 */

/**
 * Milliseconds since the epoch with sub-millisecond resolution; comparable between processes
 * on one machine (a publish time taken in a worker, a settle time in a client process).
 */
export function now() {
  return performance.timeOrigin + performance.now()
}

/**
 * Resolves after `ms` (at once when not positive).
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(ms) {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}

/**
 * Sends a message to the parent process.
 * @param {unknown} message
 */
export function reportToParent(message) {
  process.send?.(message)
}

/**
 * The settings the parent sends as its first message.
 * @returns {Promise<ChildSettings>}
 */
export function childSettings() {
  if (!process.send) throw new Error('[jobcast] a chaos child process runs under test/chaos/run-chaos.mjs, not on its own')
  process.on('disconnect', () => process.exit(1))
  return new Promise((resolve) => process.once('message', (message) => resolve(/** @type {ChildSettings} */ (message))))
}
