// @ts-check
/**
 * The processes of a chaos run: one `redis-server` without persistence that can be SIGKILLed
 * and started again empty on its port, the gateway CLI (killable and restartable the same way),
 * and forked chaos children. Every process started here is tracked and SIGKILLed when this
 * process exits, whatever the reason, so a failed run leaves nothing behind.
 */
import { fork, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from './child.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
/** The repository's root. */
export const root = path.resolve(here, '../..')
/** The built gateway CLI the run starts. */
export const gatewayCli = path.join(root, 'packages/gateway/dist/cli.js')

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()
process.on('exit', () => killAll())
/** @type {import('node:child_process').ChildProcess | undefined} */
let reaper

/** SIGKILLs every process this one started and has not seen exit. */
export function killAll() {
  for (const child of children) child.kill('SIGKILL')
}

/**
 * @template {import('node:child_process').ChildProcess} T
 * @param {T} child
 * @returns {T}
 */
function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/**
 * Tracks a process without an IPC channel (redis-server, a gateway) and has the reaper kill it
 * should this process die without running its exit handler.
 * @template {import('node:child_process').ChildProcess} T
 * @param {T} child
 * @returns {T}
 */
function trackWithReaper(child) {
  if (!reaper) {
    reaper = fork(path.join(here, 'reaper.mjs'), [], { stdio: 'ignore' })
    // Neither it nor its channel may keep this process alive.
    reaper.unref()
    reaper.channel?.unref()
  }
  const { pid } = child
  reaper.send({ watch: pid })
  child.once('exit', () => reaper?.connected && reaper.send({ forget: pid }))
  return track(child)
}

/**
 * A free TCP port on 127.0.0.1.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/**
 * SIGKILLs a child and resolves once it is gone.
 * @param {import('node:child_process').ChildProcess | undefined} child
 * @returns {Promise<void>}
 */
export function killChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/**
 * Polls `check` every 50 ms until it is true; throws `message` after `ms`.
 * @param {() => Promise<boolean>} check
 * @param {number} ms
 * @param {string} message
 */
async function waitFor(check, ms, message) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(message)
}

/**
 * Does a TCP server on `port` answer `request` with a reply starting with `expected`?
 * @param {number} port
 * @param {string} request
 * @param {string} expected
 * @returns {Promise<boolean>}
 */
function answers(port, request, expected) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (/** @type {boolean} */ ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write(request))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.length >= expected.length) done(reply.startsWith(expected))
    })
  })
}

/**
 * A `redis-server` on a fixed port, without persistence: `restart()` after `kill()` brings it
 * back empty, like a production Redis without AOF after a crash.
 * @param {string} logDir
 */
export async function startRedis(logDir) {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error('[jobcast] no redis-server on PATH: install it (apt-get install -y redis-server) and run the chaos test again')
  }
  const port = await freePort()
  const logFile = path.join(logDir, 'redis.log')
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child
  const start = async () => {
    child = trackWithReaper(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', logFile], { stdio: 'ignore' }))
    await waitFor(() => answers(port, 'PING\r\n', '+PONG'), 10_000, `[jobcast] redis-server on port ${port} did not answer within 10 s: see ${logFile}`)
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: () => killChild(child),
    restart: start,
  }
}

/**
 * The gateway CLI on a fixed port, in open mode (the run is about delivery, not tokens) with
 * the per-IP limits off: every page reaches it from 127.0.0.1 through the front.
 * @param {{ redisUrl: string, prefix: string, logDir: string, name: string }} options
 */
export async function startGateway({ redisUrl, prefix, logDir, name }) {
  if (!fs.existsSync(gatewayCli)) throw new Error(`[jobcast] ${gatewayCli} is missing: run \`npm run build\` first`)
  const port = await freePort()
  const logFile = path.join(logDir, `${name}.log`)
  const args = [
    gatewayCli, '--redis-url', redisUrl, '--prefix', prefix, '--port', String(port), '--host', '127.0.0.1', '--insecure-open',
    '--max-connections-per-ip', '0', '--max-sse-per-ip', '0', '--poll-rate', '0', '--subscribe-rate', '0', '--shutdown-timeout', '1000',
  ]
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child
  const start = async () => {
    const out = fs.openSync(logFile, 'a')
    child = trackWithReaper(spawn(process.execPath, args, { cwd: root, stdio: ['ignore', out, out] }))
    fs.closeSync(out)
    const started = child
    await waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error(`[jobcast] ${name} exited with code ${started.exitCode}: see ${logFile}`)
        return answers(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'HTTP/1.1 200')
      },
      15_000,
      `[jobcast] ${name} did not answer /healthz on port ${port} within 15 s: see ${logFile}`,
    )
  }
  await start()
  return { port, kill: () => killChild(child), restart: start }
}

/**
 * Forks a chaos child (`worker.mjs`, `pages.mjs`, `front.mjs`), sends it `settings` and hands
 * every message it sends to `onMessage`. Resolves with the child once forked.
 * @param {string} script file name in test/chaos
 * @param {unknown} settings
 * @param {(message: any) => void} onMessage
 * @param {string} logFile where its stdout and stderr go
 */
export function forkChild(script, settings, onMessage, logFile) {
  const out = fs.openSync(logFile, 'a')
  const child = track(fork(path.join(here, script), [], { cwd: root, stdio: ['ignore', out, out, 'ipc'] }))
  fs.closeSync(out)
  child.on('message', onMessage)
  child.send(/** @type {import('node:child_process').Serializable} */ (settings))
  return child
}
