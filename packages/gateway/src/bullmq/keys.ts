/**
 * Every Redis key the BullMQ bridge touches: BullMQ's own (read only, named as BullMQ's
 * `QueueKeys` names them: `<bull prefix>:<queue>:<suffix>`) and the bridge's two keys under
 * jobcast's prefix. The bridge's keys share one hash tag, so its cursor script (which reads the
 * lease and writes the cursor) touches a single Redis Cluster slot.
 */

/** BullMQ's own default key prefix (its `prefix` option). */
export const DEFAULT_BULL_PREFIX = 'bull'

/** BullMQ's per-queue event stream, written by its Lua scripts, e.g. `bull:emails:events`. */
export function bullmqEventsKey(bullPrefix: string, queue: string): string {
  return `${bullPrefix}:${queue}:events`
}

/** The hash of one BullMQ job (fields `atm`, `opts`, `progress`, …), e.g. `bull:emails:42`. */
export function bullmqJobKey(bullPrefix: string, queue: string, bullmqId: string): string {
  return `${bullPrefix}:${queue}:${bullmqId}`
}

/** The last stream id the bridge published for this queue, e.g. `jobcast:bullmq:{bull:emails}:cursor`. */
export function bridgeCursorKey(prefix: string, bullPrefix: string, queue: string): string {
  return `${prefix}bullmq:{${bullPrefix}:${queue}}:cursor`
}

/** Which bridge follows this queue now (a random owner token with a time to live). */
export function bridgeLeaseKey(prefix: string, bullPrefix: string, queue: string): string {
  return `${prefix}bullmq:{${bullPrefix}:${queue}}:lease`
}
