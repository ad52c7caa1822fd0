/**
 * What the publish script stores reaches every transport as one intact event: pretty-printed
 * JSON from any language, and (written around the script) a message with a duplicate or
 * unknown field, which the gateway forwards only as its own canonical JSON.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobKey } from '../../packages/gateway/src/bus/keys.js'
import { PUBLISH } from '../../packages/gateway/src/bus/scripts.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { DRIVERS, type TransportName } from '../support/transports.js'

let redis: TestRedis
let gw: TestGateway
let raw: Redis
const prefix = randomPrefix()
beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url)
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, pollRetryAfterSeconds: 0 })
})
afterAll(async () => {
  raw?.disconnect()
  await gw?.close()
  await redis?.stop()
})

let n = 0
describe.each(['websocket', 'sse', 'polling'] as TransportName[])('%s', (transport) => {
  it('delivers a pretty-printed event whole, with its line breaks inside strings kept', async () => {
    const id = `pretty-${transport}-${n++}`
    const watcher = await DRIVERS[transport](gw, id)
    // What Python's json.dumps(event, indent=2) or PHP's JSON_PRETTY_PRINT send.
    const text = `{\r\n  "id": "${id}",\n  "status": "completed",\n  "message": "line one\\nline two",\n  "result": {\n    "downloadUrl": "/files/${id}.csv",\n    "rows": []\n  },\n  "ts": 1764287374120\n}\n`
    const [ok, stored] = (await raw.eval(PUBLISH.source, 1, jobKey(prefix, id), text, 60)) as [number, string]
    expect(ok).toBe(1)
    expect(stored).not.toMatch(/[\r\n]/)
    const event = await watcher.events.until(() => watcher.events.items.find((e) => e.status === 'completed'), 5_000, 'the completed event')
    expect(event).toEqual({ seq: JSON.parse(stored).seq, id, status: 'completed', message: 'line one\nline two', result: { downloadUrl: `/files/${id}.csv`, rows: [] }, ts: 1764287374120 })
    watcher.close()
  })

  it('forwards a hand-written message with a duplicate id and an unknown field only as its canonical JSON', async () => {
    const id = `dup-${transport}-${n++}`
    const watcher = await DRIVERS[transport](gw, id)
    const key = jobKey(prefix, id)
    const json = `{"seq":1764287374123456,"id":"someone-else","id":"${id}","status":"active","colour":"red","progress":40,"ts":1}`
    await raw.set(key, json)
    await raw.spublish(key, json)
    const event = await watcher.events.until(() => watcher.events.items.find((e) => e.progress === 40), 5_000, 'the event')
    expect(event).toEqual({ seq: 1764287374123456, id, status: 'active', progress: 40, ts: 1 })
    watcher.close()
  })
})
