/**
 * Storm: clients of every streaming transport subscribe at staggered moments while a job
 * publishes as fast as it can. Each client must receive a gap-free suffix of the published
 * seqs (snapshot first, then every later event), in order, once each, ending with the terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher } from '@jobcast/gateway'
import { startGateway } from './support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from './support/redis.js'
import { DRIVERS, type TransportName, type Watcher } from './support/transports.js'

const streaming: TransportName[] = ['websocket', 'sse', 'sse-multi']
const EVENTS = 300

let redis: TestRedis
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

describe.each(['memory', 'redis'] as const)('%s bus', (busKind) => {
  it('gives every late subscriber a gap-free, ordered, duplicate-free suffix', async () => {
    const prefix = randomPrefix()
    const gw = await startGateway(busKind === 'memory' ? {} : { bus: { redisUrl: redis.url, prefix } })
    const pub = busKind === 'memory' ? createPublisher({ bus: gw.gateway.bus }) : createPublisher({ url: redis.url, prefix })
    const published: number[] = []
    const watchers: { transport: TransportName; watcher: Watcher }[] = []
    try {
      const first = await pub.queued('storm')
      if (first.published) published.push(first.event.seq)
      const publishing = (async () => {
        for (let i = 1; i <= EVENTS; i++) {
          const outcome = i === EVENTS ? await pub.complete('storm') : await pub.progress('storm', (i * 100) / EVENTS)
          if (outcome.published) published.push(outcome.event.seq)
          // Short pauses so the storm outlasts the subscriptions on both buses.
          if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1))
        }
      })()
      // Subscribers join while the storm runs (each open() awaits its `subscribed`).
      for (let round = 0; round < 4; round++) {
        for (const transport of streaming) watchers.push({ transport, watcher: await DRIVERS[transport](gw, 'storm') })
      }
      await publishing
      await Promise.all(watchers.map(({ watcher }) => watcher.finished))
      expect(published).toHaveLength(EVENTS + 1)
      for (const { transport, watcher } of watchers) {
        const seqs = watcher.events.items.map((e) => e.seq)
        const start = published.indexOf(seqs[0] ?? -1)
        expect({ transport, start: start >= 0 }).toEqual({ transport, start: true })
        expect({ transport, seqs }).toEqual({ transport, seqs: published.slice(start) })
      }
    } finally {
      for (const { watcher } of watchers) watcher.close()
      await pub.close()
      await gw.close()
    }
  })
})
