// @ts-check
/**
 * The chaos front: a TCP balancer on 127.0.0.1 in its own process, as nginx or a cloud load
 * balancer would sit before the gateways. Each client connection goes to the next gateway in
 * turn; a gateway that refuses (killed, restarting) is skipped, as a proxy's passive health
 * check does. It also plays the mobile network: about `cutsPerSecond` of the open client
 * connections are cut each second, mid-stream: the next chunk from the gateway is forwarded
 * only in part, then both sockets are destroyed without any close handshake.
 *
 * Parent messages: `{ upstreams: number[], cutsPerSecond }` first, then `'stats'`, answered
 * `{ type: 'stats', cuts, connections }`. The first reply is `{ type: 'listening', port }`.
 */
import net from 'node:net'
import { childSettings, reportToParent } from './child.mjs'

/** @typedef {{ client: net.Socket, upstream: net.Socket, cutting: boolean }} Pair */

/** How often cuts are drawn, ms; the chance per draw is scaled to it. */
const CUT_TICK_MS = 100
/** A connection marked for a cut with nothing flowing is cut after this long anyway, ms. */
const CUT_IDLE_MS = 200

const { upstreams, cutsPerSecond } = /** @type {{ upstreams: number[], cutsPerSecond: number }} */ (/** @type {unknown} */ (await childSettings()))
/** @type {Set<Pair>} */
const pairs = new Set()
let next = 0
let cuts = 0
let connections = 0

/** @param {Pair} pair */
function cut(pair) {
  if (!pairs.delete(pair)) return
  cuts++
  pair.client.resetAndDestroy()
  pair.upstream.destroy()
}

/**
 * Connects to the next gateway that accepts, trying each once.
 * @param {net.Socket} client
 * @param {number} tries gateways left to try
 */
function connectUpstream(client, tries) {
  const port = /** @type {number} */ (upstreams[next++ % upstreams.length])
  const upstream = net.connect({ port, host: '127.0.0.1' })
  upstream.once('error', () => {
    if (tries > 1 && !client.destroyed) connectUpstream(client, tries - 1)
    else client.destroy()
  })
  upstream.once('connect', () => {
    upstream.removeAllListeners('error')
    if (client.destroyed) return void upstream.destroy()
    relay(client, upstream)
  })
}

/**
 * @param {net.Socket} client
 * @param {net.Socket} upstream
 */
function relay(client, upstream) {
  /** @type {Pair} */
  const pair = { client, upstream, cutting: false }
  pairs.add(pair)
  const end = () => {
    pairs.delete(pair)
    client.destroy()
    upstream.destroy()
  }
  client.on('error', end).on('close', end)
  upstream.on('error', end).on('close', end)
  client.pipe(upstream)
  upstream.on('data', (chunk) => {
    if (pair.cutting) {
      // Mid-frame: the page gets a truncated frame or message, then the line is gone.
      client.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))))
      return cut(pair)
    }
    if (!client.write(chunk)) {
      upstream.pause()
      client.once('drain', () => upstream.resume())
    }
  })
}

const server = net.createServer((client) => {
  connections++
  client.on('error', () => {})
  client.pause()
  connectUpstream(client, upstreams.length)
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  reportToParent({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
})

setInterval(() => {
  const chance = cutsPerSecond * (CUT_TICK_MS / 1_000)
  for (const pair of pairs) {
    if (pair.cutting || Math.random() >= chance) continue
    pair.cutting = true
    setTimeout(() => cut(pair), CUT_IDLE_MS)
  }
}, CUT_TICK_MS)

process.on('message', (message) => {
  if (message === 'stats') reportToParent({ type: 'stats', cuts, connections })
})
