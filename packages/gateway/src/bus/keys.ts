/**
 * The only module that builds Redis key and channel names (docs/protocol.md, "Redis layout").
 * A job's snapshot key and its channel are the same string, `{prefix}job:{ID}`: the braces make
 * the id the Redis Cluster hash tag, so key and channel of one job live in one slot.
 */

/** Key prefix used when none is configured. */
export const DEFAULT_PREFIX = 'jobcast:'

/**
 * Snapshot key and pub/sub channel of job `id`, e.g. `jobcast:job:{export-42}`.
 * @param prefix - key prefix, e.g. `jobcast:`
 * @param id - a valid job id (braces cannot occur in one, so the hash tag is exactly the id)
 */
export function jobKey(prefix: string, id: string): string {
  return `${prefix}job:{${id}}`
}
