/**
 * `npm run bench`: measures the jobcast gateway (Redis mode) against a minimal baseline
 * relay (bench/baseline-relay.mjs) in the same run, on a private redis-server. Each relay
 * runs in its own child process; the load clients and the publisher in two more (bench/client-worker.mjs).
 * Env: JOBCAST_BENCH_SCALE (default 1; e.g. 0.1 while developing),
 *      JOBCAST_BENCH_ONLY=latency,fanout,throughput,memory,polling (subset),
 *      JOBCAST_BENCH_ROUNDS (interleaved rounds of every scenario, median reported; default 3),
 *      JOBCAST_BENCH_GATEWAY_ARGS (extra gateway CLI flags),
 *      JOBCAST_BENCH_PROF=gateway|baseline (write a --cpu-prof of that server to the log dir).
 * Always exits 0 after a complete run: missed targets are results, marked FAIL.
 */
import { execFileSync, execSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildRows, table } from './report.mjs'
import { cpuMs, root, rssKiB, startRedis, startServer, startWorker, stop } from './processes.mjs'
import { sleep } from './stats.mjs'

const scale = Number(process.env.JOBCAST_BENCH_SCALE ?? 1)
const only = process.env.JOBCAST_BENCH_ONLY ? process.env.JOBCAST_BENCH_ONLY.split(',') : null
const gatewayArgs = (process.env.JOBCAST_BENCH_GATEWAY_ARGS ?? '').split(' ').filter(Boolean)
const n = (full, min) => Math.max(min, Math.round(full * scale))
const cfg = {
  latency: { jobs: n(1000, 20), events: 20, rate: 2000 },
  fanout: { subs: n(2000, 20), events: n(200, 10), rate: 10 },
  throughput: { jobs: 100, durationMs: n(10_000, 2000), warmMs: 1000, window: Number(process.env.JOBCAST_BENCH_WINDOW ?? 2000) },
  memory: { count: n(5000, 200) },
  polling: { connections: 50, durationSec: n(5, 2) },
}
/**
 * Every scenario is noisy on a shared 2-core machine: median of interleaved rounds. Memory
 * too: one ramp of 5,000 connections lands on GC and allocator states that vary by ±0.5 KiB
 * per connection between identical runs, for the gateway and the baseline alike.
 */
const rounds = Math.max(1, Number(process.env.JOBCAST_BENCH_ROUNDS ?? 3))
const wants = (s) => !only || only.includes(s)
const log = (...a) => console.log('[bench]', ...a)
const loads = [] // 1-minute load average at each scenario start: the machine is shared
const load = (what) => { const l = os.loadavg()[0].toFixed(2); loads.push(`${what} ${l}`); return `(load average ${l})` }
const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`

const gatewayBuilt = fs.existsSync(path.join(root, 'packages/gateway/dist/cli.js'))
if (gatewayBuilt) {
  // Per-IP connection and request-rate limits would throttle a load that all comes from
  // 127.0.0.1: lift whichever the CLI offers (a value it documents as unlimited, else a huge one).
  const help = execFileSync(process.execPath, [path.join(root, 'packages/gateway/dist/cli.js'), '--help'], { encoding: 'utf8' })
  for (const line of help.split('\n')) {
    const m = /^\s+(--[a-z0-9-]+)[ =]<[^>]+>\s+(.*)$/.exec(line)
    if (!m || gatewayArgs.includes(m[1]) || !/per-ip|rate|max-conn/.test(m[1])) continue
    gatewayArgs.push(m[1], /\b0\b[^,;)]*(unlimited|no limit|disable|off)/i.test(m[2]) ? '0' : '1000000')
  }
}
const servers = gatewayBuilt ? ['gateway', 'baseline'] : ['baseline']
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobcast-bench-'))
const tag = `b${Date.now().toString(36)}`
const results = { gateway: {}, baseline: {} }

log(`scale ${scale}, servers: ${servers.join(' + ')}${gatewayArgs.length ? `, gateway flags ${gatewayArgs.join(' ')}` : ''}${gatewayBuilt ? '' : ' (packages/gateway/dist/cli.js missing: run `npm run build`)'}; logs in ${logDir}`)
const redis = await startRedis()
log(`${redis.version.split(' ').slice(0, 3).join(' ')} on port ${redis.port}`)
const worker = startWorker() // the client connections
const producer = startWorker() // the publisher
producer.onProgress = null
worker.onProgress = (n) => producer.send({ cmd: 'delivered', n })
const { publisher } = await producer.call('init', { redisUrl: redis.url, prefix: 'jobcast:' })
log(`publisher: ${publisher}`)

/**
 * Run `fn(server, round)` on a fresh child of each relay, `rounds` times, interleaved
 * (gateway, baseline, gateway, …) so drift in the machine's load hits both alike. With
 * several rounds each server's reported result is its median round by `metric`; all
 * rounds' values are kept in `rounds`. An error is recorded, not fatal.
 */
async function onEach(name, keys, fn, { rounds = 1, metric } = {}) {
  const all = { gateway: {}, baseline: {} }
  for (let round = 1; round <= rounds; round++) {
    for (const kind of servers) {
      let srv
      try {
        srv = await startServer(kind, { redisUrl: redis.url, logDir, gatewayArgs })
        await fn(srv, round)
        for (const k of keys) if (results[kind][k]) (all[kind][k] ??= []).push(results[kind][k])
      } catch (err) {
        log(`${name} ${kind}: ERROR ${err.message.split('\n')[0]}`)
        for (const k of keys) (all[kind][k] ??= []).push({ error: err.message })
      } finally {
        if (srv) await stop(srv.child)
      }
    }
  }
  for (const kind of servers) {
    for (const k of keys) {
      const list = all[kind][k] ?? []
      const ok = list.filter((r) => !r.error)
      if (ok.length === 0) { results[kind][k] = list[0] ?? { error: 'no result' }; continue }
      if (rounds === 1 || !metric) { results[kind][k] = ok[ok.length - 1]; continue }
      const sorted = [...ok].sort((a, b) => a[metric] - b[metric])
      const median = { ...sorted[Math.floor((sorted.length - 1) / 2)], rounds: list.map((r) => r[metric] ?? 'error') }
      // Delivery integrity counts every round, not only the median one.
      for (const f of ['expected', 'received', 'lost', 'outOfOrder', 'duplicates', 'unexpectedEnds', 'delivered', 'published']) {
        if (f in median) median[f] = ok.reduce((sum, r) => sum + (r[f] ?? 0), 0)
      }
      median.erroredRounds = list.length - ok.length
      results[kind][k] = median
    }
  }
}

/**
 * A measured call: the result goes to `results[kind][key]`. Server CPU: the result's own
 * `serverCpuMs` (taken around the steady phase only) or else the whole call's.
 */
async function measured(srv, key, fn) {
  const c0 = cpuMs(srv.pid)
  const r = await fn()
  r.serverCpuMs ??= cpuMs(srv.pid) - c0
  const work = r.cpuWork ?? r.received ?? r.total
  if (work) r.cpuMsPer1k = Math.round((r.serverCpuMs / work) * 1000 * 100) / 100
  results[srv.kind][key] = r
  return r
}

/** Start counting CPU of every process; the returned function gives each one's share of a core since. */
function cpuShares(srv) {
  const pids = { server: srv.pid, clients: worker.child.pid, publisher: producer.child.pid, redis: redis.child.pid }
  const t0 = Date.now()
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]))
  return () => {
    const ms = Date.now() - t0
    return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, `${Math.round(((cpuMs(pid) - c0[k]) / ms) * 100)}%`]))
  }
}
const shareLine = (r) => (r.cpuShare ? `; CPU of a core: ${Object.entries(r.cpuShare).map(([k, v]) => `${k} ${v}`).join(', ')}` : '')

/** Subscribe, publish at a steady rate from the other process, collect. */
async function stream(srv, { transport, jobs, subsPerJob, events, rate, tag }) {
  const open = await worker.call('streamOpen', { base: srv.base, transport, jobs, subsPerJob, events, tag })
  await sleep(200)
  const c0 = cpuMs(srv.pid) // server CPU of the publish phase only, not of the connection ramp
  const share = cpuShares(srv)
  const p = await producer.call('publishSteady', { jobs, events, rate, tag })
  const r = await worker.call('streamDrain', { expected: jobs * subsPerJob * events })
  return { ...r, ...p, connectMs: open.connectMs, serverCpuMs: cpuMs(srv.pid) - c0, cpuShare: share() }
}
let warmups = 0
const warm = (srv, transport) => stream(srv, { transport, jobs: 100, subsPerJob: 1, events: 10, rate: 2000, tag: `${tag}w${++warmups}` })
const streamLine = (r) =>
  `p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; ${r.received}/${r.expected} delivered, lost ${r.lost}, out-of-order ${r.outOfOrder}, dup ${r.duplicates}` +
  `${r.unexpectedEnds ? `, ${r.unexpectedEnds} unexpected ends (${r.endReasons.join('; ')})` : ''}; server CPU ${r.serverCpuMs} ms${shareLine(r)}`

if (wants('latency')) {
  const c = cfg.latency
  log(`latency: ${c.jobs} jobs × 1 subscriber × ${c.events} events at ${c.rate}/s, WebSocket then SSE; median of ${rounds} interleaved rounds by p99 ${load('latency')}`)
  await onEach('latency', ['latencyWs', 'latencySse'], async (srv, round) => {
    for (const [transport, key] of [['ws', 'latencyWs'], ['sse', 'latencySse']]) {
      await warm(srv, transport)
      const r = await measured(srv, key, () => stream(srv, { transport, jobs: c.jobs, subsPerJob: 1, events: c.events, rate: c.rate, tag: `${tag}l${transport}${srv.kind[0]}${round}` }))
      log(`  ${elapsed()} latency ${transport} ${srv.kind} round ${round}/${rounds}: ${streamLine(r)}`)
    }
  }, { rounds, metric: 'p99' })
}

if (wants('fanout')) {
  const c = cfg.fanout
  log(`fan-out: 1 job × ${c.subs} WebSocket subscribers, ${c.events} events at ${c.rate}/s; median of ${rounds} interleaved rounds by p99 ${load('fan-out')}`)
  await onEach('fan-out', ['fanout'], async (srv, round) => {
    await stream(srv, { transport: 'ws', jobs: 1, subsPerJob: 200, events: 10, rate: 50, tag: `${tag}fw${srv.kind[0]}${round}` })
    const r = await measured(srv, 'fanout', () => stream(srv, { transport: 'ws', jobs: 1, subsPerJob: c.subs, events: c.events, rate: c.rate, tag: `${tag}f${srv.kind[0]}${round}` }))
    log(`  ${elapsed()} fan-out ${srv.kind} round ${round}/${rounds}: ${streamLine(r)}`)
  }, { rounds, metric: 'p99' })
}

if (wants('throughput')) {
  const c = cfg.throughput
  log(`throughput: ${c.jobs} jobs × 1 WebSocket subscriber, ≤ ${c.window} events in flight, ${c.durationMs / 1000} s after ${c.warmMs / 1000} s warm-up; median of ${rounds} interleaved rounds ${load('throughput')}`)
  await onEach('throughput', ['throughput'], async (srv, round) => {
    const r = await measured(srv, 'throughput', async () => {
      const t = `${tag}t${srv.kind[0]}${round}`
      await worker.call('throughputOpen', { base: srv.base, transport: 'ws', jobs: c.jobs, tag: t })
      await sleep(200)
      await producer.call('pumpStart', { jobs: c.jobs, window: c.window, tag: t })
      await sleep(c.warmMs)
      const c0 = cpuMs(srv.pid) // server CPU of the measured window only
      const share = cpuShares(srv) // which process is the bottleneck?
      const m = await worker.call('throughputMeasure', { warmMs: 0, durationMs: c.durationMs })
      const serverCpuMs = cpuMs(srv.pid) - c0
      const cpuShare = share()
      const p = await producer.call('pumpStop')
      const d = await worker.call('throughputDrain', { published: p.published })
      return { ...m, ...d, pubErrors: p.pubErrors, serverCpuMs, cpuWork: Math.round(m.eventsPerSec * m.seconds), cpuShare }
    })
    log(`  ${elapsed()} throughput ${srv.kind} round ${round}/${rounds}: ${r.eventsPerSec} events/s delivered; ${r.delivered}/${r.published}, lost ${r.lost}, out-of-order ${r.outOfOrder}, dup ${r.duplicates}; ${shareLine(r).slice(2)}`)
  }, { rounds, metric: 'eventsPerSec' })
}

if (wants('memory')) {
  const c = cfg.memory
  log(`memory: RSS with 0 and with ${c.count} idle connections (each subscribed to its own job, which has a snapshot), WebSocket then SSE, fresh server each; median of ${rounds} interleaved rounds ${load('memory')}`)
  for (const [transport, key] of [['ws', 'memoryWs'], ['sse', 'memorySse']]) {
    const ids = Array.from({ length: c.count }, (_, k) => `${tag}m${transport}-${k}`)
    await producer.call('prepublish', { ids })
    await onEach(`memory ${transport}`, [key], async (srv, round) => {
      const settle = async () => {
        await sleep(1000)
        const rss = () => { srv.child.kill('SIGUSR2'); return sleep(500).then(() => rssKiB(srv.pid)) }
        const value = await rss()
        if (process.env.JOBCAST_BENCH_HEAPSNAP_DIR) await sleep(20_000) // let the snapshot finish writing
        return value
      }
      // Warm-up: the code paths and buffers one connection needs, so the delta is per connection.
      await worker.call('openIdle', { base: srv.base, transport, ids: ids.slice(0, 100) })
      await worker.call('closeIdle')
      const before = await settle()
      const opened = await worker.call('openIdle', { base: srv.base, transport, ids })
      await sleep(1000)
      const after = await settle()
      await worker.call('closeIdle')
      const r = { connections: opened.open, rssBeforeKiB: before, rssAfterKiB: after, kibPerConn: (after - before) / opened.open, unexpectedEnds: opened.unexpectedEnds }
      results[srv.kind][key] = r
      log(`  ${elapsed()} memory ${transport} ${srv.kind} round ${round}/${rounds}: RSS ${before} KiB → ${after} KiB with ${opened.open} connections = ${r.kibPerConn.toFixed(2)} KiB each`)
    }, { rounds, metric: 'kibPerConn' })
  }
}

if (wants('polling')) {
  const c = cfg.polling
  log(`polling: GET /v1/jobs/:id, ${c.connections} keep-alive connections, ${c.durationSec} s (after 1 s warm-up); median of ${rounds} interleaved rounds ${load('polling')}`)
  const id = `${tag}p`
  await producer.call('prepublish', { ids: [id] })
  await onEach('polling', ['polling'], async (srv, round) => {
    const url = `${srv.base}/v1/jobs/${id}`
    const probe = await fetch(url)
    if (probe.status !== 200) throw new Error(`[bench] ${url} answered ${probe.status}`)
    await worker.call('poll', { url, connections: c.connections, durationSec: 1 })
    const r = await measured(srv, 'polling', () => worker.call('poll', { url, connections: c.connections, durationSec: c.durationSec }))
    log(`  ${elapsed()} polling ${srv.kind} round ${round}/${rounds}: ${r.reqPerSec} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}; server CPU ${r.serverCpuMs} ms`)
  }, { rounds, metric: 'reqPerSec' })
}

await worker.call('close').catch(() => {})
await producer.call('close').catch(() => {})
await stop(redis.child)

// Report
const rows = buildRows(results)
const md = table(rows)
console.log(`\n${md}\n`)
const stamp = new Date().toISOString()
const git = (cmd) => { try { return execSync(cmd, { cwd: root, encoding: 'utf8' }).trim() } catch { return '?' } }
const commit = git('git rev-parse --short HEAD')
const dirty = git('git status --porcelain -- packages/gateway bench') ? ' (working tree has uncommitted changes in packages/gateway or bench)' : ''
const cpuModel = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) ?? [])[1] ?? '?'
const command = `${process.env.npm_lifecycle_event === 'bench' ? 'npm run bench  →  ' : ''}${[process.argv0, ...process.argv.slice(1).map((a) => path.relative(root, a) || a)].join(' ')}`
const envLine = ['JOBCAST_BENCH_SCALE', 'JOBCAST_BENCH_ONLY', 'JOBCAST_BENCH_ROUNDS', 'JOBCAST_BENCH_GATEWAY_ARGS', 'JOBCAST_BENCH_PROF'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`).join(' ')
const doc = `# jobcast benchmark — ${stamp}

- command: \`${envLine ? `${envLine} ` : ''}${command}\`
- node ${process.version}, ${os.platform()} ${os.release()}
- CPU: ${cpuModel}, ${os.cpus().length} cores; ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM
- ${redis.version}
- git commit: ${commit}${dirty}
- 1-minute load average at scenario starts (2 cores, shared with other work): ${loads.join(', ')}; at the end ${os.loadavg()[0].toFixed(2)}
- publisher: ${publisher}
- gateway: \`node packages/gateway/dist/cli.js --redis-url … --insecure-open${gatewayArgs.length ? ` ${gatewayArgs.join(' ')}` : ''}\` (open auth: no token checks)${gatewayBuilt ? '' : ' — NOT BUILT, not measured'}
- baseline: \`node bench/baseline-relay.mjs\` (node:http + ws + ioredis, raw forward)
- scale ${scale}: latency ${cfg.latency.jobs} jobs × ${cfg.latency.events} events at ${cfg.latency.rate}/s; fan-out ${cfg.fanout.subs} subscribers × ${cfg.fanout.events} events at ${cfg.fanout.rate}/s; throughput ${cfg.throughput.jobs} jobs, window ${cfg.throughput.window}, ${cfg.throughput.durationMs / 1000} s; memory ${cfg.memory.count} connections; polling ${cfg.polling.connections} connections × ${cfg.polling.durationSec} s
- each scenario runs on a fresh child process of each server after a warm-up; load clients and publisher in two other processes; every scenario reports each server's median of ${rounds} interleaved rounds (by p99, events/s, KiB per connection, req/s) (gateway, baseline, gateway, …; all rounds in the raw results); run took ${elapsed()}

${md}

Latency = receive time in the client process − \`data.t\` set just before \`publish()\` (clock \`performance.timeOrigin + performance.now()\`), so it includes the Lua publish in Redis.
Memory = (VmRSS with the connections − VmRSS before) / connections, each read after a full GC (\`--expose-gc\`, SIGUSR2 hook \`bench/gc-hook.mjs\`).

<details><summary>raw results</summary>

\`\`\`json
${JSON.stringify(results, null, 2)}
\`\`\`
</details>
`
const outDir = scale === 1 && !only ? path.join(root, 'bench/results') : logDir
const file = path.join(outDir, `${stamp.slice(0, 10)}-${stamp.slice(11, 13)}${stamp.slice(14, 16)}.md`)
fs.mkdirSync(outDir, { recursive: true })
fs.writeFileSync(file, doc)
log(`results written to ${path.relative(root, file).startsWith('..') ? file : path.relative(root, file)}`)
process.exit(0)
