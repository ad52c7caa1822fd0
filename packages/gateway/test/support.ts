/** Bus fixtures shared by the gateway's bus, hub and publisher suites. */
import { Redis } from 'ioredis'
import { startRedis, randomPrefix, type TestRedis } from '../../../test/support/redis.js'
import type { Bus, BusState } from '../src/bus/bus.js'
import { createMemoryBus } from '../src/bus/memory-bus.js'
import { createRedisBus, type RedisBus } from '../src/bus/redis-bus.js'

export interface BusFixture {
  readonly bus: Bus
  /** A plain connection to the same Redis (redis buses only). */
  readonly raw: Redis | null
  readonly prefix: string
  close(): Promise<void>
}

export interface BusKind {
  readonly name: 'memory' | 'redis'
  create(options?: { ttlSeconds?: number }): Promise<BusFixture>
}

let shared: TestRedis | undefined

/** The redis-server of this test file (started on first use; stopped in `stopSharedRedis`). */
export async function sharedRedis(): Promise<TestRedis> {
  shared ??= await startRedis()
  return shared
}

export async function stopSharedRedis(): Promise<void> {
  await shared?.stop()
  shared = undefined
}

export const memoryKind: BusKind = {
  name: 'memory',
  async create(options = {}) {
    const bus = createMemoryBus(options)
    return { bus, raw: null, prefix: '', close: () => bus.close() }
  },
}

export const redisKind: BusKind = {
  name: 'redis',
  async create(options = {}) {
    const redis = await sharedRedis()
    const prefix = randomPrefix()
    const bus = createRedisBus({ url: redis.url, prefix, ...options })
    const raw = new Redis(redis.url)
    raw.on('error', () => {})
    await waitForState(bus, 'up')
    return {
      bus,
      raw,
      prefix,
      async close() {
        await bus.close()
        raw.disconnect()
      },
    }
  },
}

export const busKinds: BusKind[] = [memoryKind, redisKind]

/** Resolves when `bus.state` is `state` (at once if it already is). */
export function waitForState(bus: Bus, state: BusState, timeoutMs = 10_000): Promise<void> {
  if (bus.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`bus did not become ${state} within ${timeoutMs} ms (is ${bus.state})`))
    }, timeoutMs)
    const off = bus.onStateChange((next) => {
      if (next !== state) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

export type { RedisBus }
