/**
 * The publisher the bench uses: `createPublisher` from `@jobcast/gateway/publisher` (the
 * real Lua publish path), or — only while the gateway is not built yet, during bench
 * development — a stand-in that runs the same script from the wire contract.
 */
import { Redis } from 'ioredis'

const SCRIPT = `
-- KEYS[1] snapshot key (= channel); ARGV[1] event JSON without seq; ARGV[2] ttl seconds
local old = redis.call('GET', KEYS[1])
local prev = 0
if old then
  local o = cjson.decode(old)
  if o.status == 'completed' or o.status == 'failed' or o.status == 'cancelled' then return {0, old} end
  prev = tonumber(o.seq)
end
local t = redis.call('TIME')
local seq = math.max(prev + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
local json = '{"seq":' .. string.format('%.0f', seq) .. ',' .. string.sub(ARGV[1], 2)
redis.call('SET', KEYS[1], json, 'EX', tonumber(ARGV[2]))
redis.call('SPUBLISH', KEYS[1], json)
return {1, json}
`

function fallbackPublisher({ redis: given, url, prefix = 'jobcast:', ttlSeconds = 86400 }) {
  const redis = given ?? new Redis(url)
  redis.defineCommand('jobcastPublish', { numberOfKeys: 1, lua: SCRIPT })
  return {
    async publish(event) {
      const { id, ...rest } = event
      const body = JSON.stringify({ id, ...rest, ts: rest.ts ?? Date.now() })
      const [ok, json] = await redis.jobcastPublish(`${prefix}job:{${id}}`, body, ttlSeconds)
      return ok === 1 ? { published: true, event: JSON.parse(json) } : { published: false }
    },
    async close() { if (!given) await redis.quit() },
  }
}

/** `{ publisher, kind }` where kind says which implementation is in use. */
export async function makePublisher(opts) {
  try {
    const mod = await import('@jobcast/gateway/publisher')
    return { publisher: mod.createPublisher(opts), kind: '@jobcast/gateway/publisher' }
  } catch (err) {
    if (process.env.JOBCAST_BENCH_REQUIRE_PUBLISHER) throw err
    return { publisher: fallbackPublisher(opts), kind: 'bench stand-in (gateway publisher not built)' }
  }
}
