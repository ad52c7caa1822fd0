/**
 * Process plumbing for the bench: a private redis-server, the two relays as child
 * processes (so their RSS and CPU are their own), the forked load worker, /proc readers.
 */
import { spawn, spawnSync, fork } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { sleep } from './stats.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))

/** Every child this process started, killed on any exit so none outlives the bench. */
const children = new Set()
function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(130))
process.stdout.on('error', () => process.exit(1)) // e.g. piped into `head`
export const root = path.resolve(here, '..')

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

/** VmRSS of a process, KiB. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

/** User + system CPU time of a process, ms. */
export function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10 // utime, stime in 100 Hz ticks
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms)
    child.once('exit', () => { clearTimeout(t); resolve(true) })
  })
}

/** Stop a child we started: SIGTERM, then SIGKILL after `ms`. */
export async function stop(child, ms = 6000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  if (!(await waitExit(child, ms))) { child.kill('SIGKILL'); await waitExit(child, 2000) }
}

/** Start a private redis-server on a free port. */
export async function startRedis() {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error) {
    throw new Error('[bench] no redis-server on PATH: install it (apt-get install -y redis-server) and run `npm run bench` again')
  }
  const port = await freePort()
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`[bench] redis-server exited with ${child.exitCode} on port ${port}`)
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    r.on('error', () => {})
    try { await r.connect(); await r.ping(); r.disconnect(); return { child, url, port, version: probe.stdout.trim() } } catch { r.disconnect() }
    await sleep(100)
  }
  throw new Error(`[bench] redis-server did not answer on port ${port} within 10 s`)
}

const gcHook = pathToFileURL(path.join(here, 'gc-hook.mjs')).href

/**
 * Start one relay as a child process: `gateway` (its CLI, Redis mode, open auth) or
 * `baseline`. Resolves when /healthz answers, with `{ child, base, pid, logFile }`.
 */
export async function startServer(kind, { redisUrl, logDir, gatewayArgs = [] }) {
  const port = await freePort()
  const script = kind === 'gateway' ? path.join(root, 'packages/gateway/dist/cli.js') : path.join(here, 'baseline-relay.mjs')
  const args = ['--redis-url', redisUrl, '--port', String(port), '--host', '127.0.0.1']
  if (kind === 'gateway') args.push('--insecure-open', ...gatewayArgs)
  const logFile = path.join(logDir, `${kind}-${port}.log`)
  const out = fs.openSync(logFile, 'a')
  const child = track(spawn(process.execPath, ['--expose-gc', ...(process.env.JOBCAST_BENCH_TRACE_GC ? ['--trace-gc'] : []), '--import', gcHook, ...(process.env.JOBCAST_BENCH_PROF === kind ? ['--cpu-prof', `--cpu-prof-dir=${logDir}`] : []), script, ...args], {
    cwd: root, stdio: ['ignore', out, out], env: { ...process.env, NODE_ENV: 'production' },
  }))
  fs.closeSync(out)
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`[bench] ${kind} exited with ${child.exitCode}; its log ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`)
    }
    try {
      const res = await fetch(`${base}/readyz`)
      if (res.status === 200) return { child, base, pid: child.pid, logFile, kind }
    } catch { /* not listening yet */ }
    await sleep(100)
  }
  await stop(child)
  throw new Error(`[bench] ${kind} not ready on ${base} within 15 s; see ${logFile}`)
}

/**
 * Fork a load worker; `call(cmd, args)` sends a command and resolves with its result,
 * `send(msg)` sends without a reply, `onProgress` receives `{ progress }` reports.
 */
export function startWorker() {
  const child = track(fork(path.join(here, 'client-worker.mjs'), [], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  let seq = 0
  const pending = new Map()
  const w = { child, onProgress: null }
  child.on('message', (m) => {
    if ('progress' in m) return w.onProgress?.(m.progress)
    const p = pending.get(m.seq)
    if (!p) return
    pending.delete(m.seq)
    if (m.ok) p.resolve(m.result)
    else p.reject(new Error(m.error))
  })
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`[bench] load worker exited with ${code}`))
    pending.clear()
  })
  return Object.assign(w, {
    send(msg) { child.send(msg) },
    call(cmd, args = {}) {
      return new Promise((resolve, reject) => {
        const s = ++seq
        pending.set(s, { resolve, reject })
        child.send({ ...args, seq: s, cmd })
      })
    },
  })
}
