/**
 * The bridge's per-queue lease and cursor, as Lua so that each check-and-write is atomic: only
 * the bridge holding a queue's lease follows that queue and moves its cursor, so two bridges
 * on one queue never publish its events twice.
 */
import type { Redis } from 'ioredis'

/**
 * Takes the lease when nobody holds it (SET NX PX, also after Redis lost the key), or renews it
 * when the caller already holds it.
 * KEYS[1]  the lease key
 * ARGV[1]  the caller's owner token
 * ARGV[2]  lease time, in ms
 * Returns  1 when the caller holds the lease, 0 when another owner does.
 */
const HOLD = `local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if owner then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 1`

/**
 * Gives the lease up, if the caller still holds it.
 * KEYS[1]  the lease key
 * ARGV[1]  the caller's owner token
 * Returns  1 when released, 0 when someone else held it (or nobody).
 */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

/**
 * Saves the last stream id handled, only while the caller holds the lease: a bridge that lost
 * it (paused past its lease) cannot move the new holder's cursor back.
 * KEYS[1]  the lease key
 * KEYS[2]  the cursor key
 * ARGV[1]  the caller's owner token
 * ARGV[2]  the stream id
 * Returns  1 when saved, 0 when the caller does not hold the lease.
 */
const SAVE_CURSOR = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`

/** Takes or renews a lease; true when the caller holds it. */
export async function holdLease(redis: Redis, leaseKey: string, owner: string, leaseMs: number): Promise<boolean> {
  return (await redis.eval(HOLD, 1, leaseKey, owner, String(leaseMs))) === 1
}

/** Releases a lease the caller holds. */
export async function releaseLease(redis: Redis, leaseKey: string, owner: string): Promise<void> {
  await redis.eval(RELEASE, 1, leaseKey, owner)
}

/** Saves the cursor under the lease; false when the caller no longer holds it. */
export async function saveCursor(redis: Redis, leaseKey: string, cursorKey: string, owner: string, streamId: string): Promise<boolean> {
  return (await redis.eval(SAVE_CURSOR, 2, leaseKey, cursorKey, owner, streamId)) === 1
}
