/**
 * The restore rule and how a batch of restores is sent (docs/protocol.md, "Restoring a lost
 * snapshot"); `lua/restore.lua` applies the same rule inside Redis.
 */
import { isTerminal, type JobEvent } from '../protocol.js'
import type { Bus, BusEvent } from './bus.js'

/**
 * May `known` be put back over `current`? Only where the job has no snapshot or an older,
 * non-terminal one, so a restore can neither reorder nor re-open a job.
 * @param current - the job's snapshot now, `null` when missing
 * @param known - the event to put back
 */
export function mayRestore(current: JobEvent | null, known: JobEvent): boolean {
  return current === null || (current.seq < known.seq && !isTerminal(current))
}

/**
 * Runs the restore of each event on `bus`: the first alone (it loads the script into a Redis
 * that restarted without it), then the rest at once, pipelined on the connection.
 * Resolves with the number restored; rejects with the first error (e.g. `bus_unavailable`).
 */
export async function restoreAll(bus: Bus, messages: readonly BusEvent[]): Promise<number> {
  const [first, ...rest] = messages
  if (!first) return 0
  const head = (await bus.restore(first)) ? 1 : 0
  const outcomes = await Promise.all(rest.map((message) => bus.restore(message)))
  return outcomes.reduce((count, restored) => count + (restored ? 1 : 0), head)
}
