/**
 * The baseline the gateway is measured against: the smallest relay that speaks the
 * client-visible subset of the jobcast protocol the bench uses. node:http + ws + ioredis,
 * per-job SSUBSCRIBE (the publish script SPUBLISHes) with reference counts, the published JSON forwarded as it came,
 * status GET straight from Redis. No auth, limits, resume or shutdown logic.
 * Usage: node bench/baseline-relay.mjs --port <n> --redis-url <url> [--prefix jobcast:]
 */
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { Redis } from 'ioredis'

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt }
const url = arg('--redis-url', 'redis://127.0.0.1:6379'), prefix = arg('--prefix', 'jobcast:')
const cmd = new Redis(url), sub = new Redis(url)
cmd.on('error', () => {}); sub.on('error', () => {})
const key = (id) => `${prefix}job:{${id}}`
const ID = /^[A-Za-z0-9._:@-]{1,128}$/
const channels = new Map() // channel -> { fns: Set<(json) => void>, ready: Promise }
sub.on('smessage', (ch, json) => { const c = channels.get(ch); if (c) for (const fn of c.fns) fn(json) })

async function watch(id, fn) {
  const ch = key(id)
  let c = channels.get(ch)
  if (!c) channels.set(ch, (c = { fns: new Set(), ready: sub.ssubscribe(ch) }))
  c.fns.add(fn)
  await c.ready
  return () => { c.fns.delete(fn); if (c.fns.size === 0 && channels.get(ch) === c) { channels.delete(ch); sub.sunsubscribe(ch) } }
}

const server = http.createServer(async (req, res) => {
  const m = /^\/v1\/jobs\/([^/?]+)(\/events)?(?:\?|$)/.exec(req.url)
  if (req.url === '/healthz' || req.url === '/readyz') return res.end('{"ok":true}')
  if (!m || !ID.test(m[1])) { res.writeHead(404); return res.end('{"error":{"code":"not_found","message":"no route"}}') }
  const id = m[1]
  if (!m[2]) {
    const json = await cmd.get(key(id))
    res.writeHead(json ? 200 : 404, { 'content-type': 'application/json' })
    return res.end(json ?? '{"error":{"code":"job_not_found","message":"unknown job"}}')
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform' })
  res.write(': ok\n\nretry: 1000\n\n')
  const stop = await watch(id, (json) => res.write(`id: ${json.slice(7, json.indexOf(','))}\ndata: ${json}\n\n`))
  res.on('close', stop)
  const snap = await cmd.get(key(id))
  res.write(`event: subscribed\ndata: {"id":"${id}","exists":${snap !== null}}\n\n`)
  if (snap) res.write(`id: ${snap.slice(7, snap.indexOf(','))}\ndata: ${snap}\n\n`)
})

const wss = new WebSocketServer({ server, path: '/v1/ws' })
wss.on('connection', (ws) => {
  const subs = new Map() // id -> stop
  ws.on('message', async (data) => {
    let msg
    try { msg = JSON.parse(data) } catch { return ws.send('{"type":"error","code":"bad_frame","message":"not JSON"}') }
    if (msg.type === 'ping') return ws.send('{"type":"pong"}')
    if (!ID.test(msg.id)) return ws.send('{"type":"error","code":"invalid_job_id","message":"bad id"}')
    if (msg.type === 'unsubscribe') { subs.get(msg.id)?.(); subs.delete(msg.id); return }
    if (msg.type !== 'subscribe' || subs.has(msg.id)) return
    subs.set(msg.id, await watch(msg.id, (json) => ws.send(`{"type":"job","job":${json}}`)))
    const snap = await cmd.get(key(msg.id))
    ws.send(`{"type":"subscribed","id":"${msg.id}","exists":${snap !== null}}`)
    if (snap) ws.send(`{"type":"job","job":${snap}}`)
  })
  ws.on('close', () => { for (const stop of subs.values()) stop(); subs.clear() })
})

process.on('SIGTERM', () => process.exit(0)) // a normal exit, so --cpu-prof can write its profile
server.listen(Number(arg('--port', '0')), arg('--host', '127.0.0.1'), () => {
  console.log(JSON.stringify({ listening: server.address().port }))
})
