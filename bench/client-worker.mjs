/**
 * The load processes, forked twice by bench/run.mjs: one holds the client connections and
 * measures, one publishes through the Lua publish path. Neither shares a core's work with
 * the server under test, and the subscribers' JSON parsing does not slow the publisher.
 * Commands arrive over IPC as `{ seq, cmd, ...args }`; each gets `{ seq, ok, result | error }`.
 * While a throughput run is active, the subscriber side also sends `{ progress: delivered }`
 * every 2 ms, which the parent forwards to the publisher as `{ cmd: 'delivered', n }`.
 */
import { Redis } from 'ioredis'
import autocannon from 'autocannon'
import { connect } from './connections.mjs'
import { makePublisher } from './publisher.mjs'
import { now, pool, sleep, summarize } from './stats.mjs'

let pub = null
let idle = []
let run = null // the subscriber side of the current stream/throughput run
let pumpState = null // the publisher side of the current throughput run

/** Track order and duplicates of one subscription; `data.i` counts 0, 1, 2… per job. */
function subscription(r, tag) {
  const st = { next: 0, lastSeq: 0 }
  return (job, t) => {
    const d = job.data
    if (!d || d.tag !== tag) { r.foreign++; return }
    if (job.seq <= st.lastSeq) r.duplicates++
    else st.lastSeq = job.seq
    if (d.i === st.next) st.next++
    else { r.outOfOrder++; if (d.i > st.next) st.next = d.i + 1 }
    r.onEvent(t - d.t)
  }
}

async function openRun({ base, transport, jobs, subsPerJob, tag, samples }) {
  const ids = Array.from({ length: jobs }, (_, j) => `${tag}-${j}`)
  const r = {
    ids, conns: [], ends: [], received: 0, foreign: 0, outOfOrder: 0, duplicates: 0,
    lat: new Float64Array(samples), onEvent: null, waiters: [],
  }
  r.onEvent = (ms) => {
    if (r.received < r.lat.length) r.lat[r.received] = ms
    r.received++
  }
  const t0 = now()
  await pool(jobs * subsPerJob, 100, async (k) => {
    r.conns.push(await connect(transport, base, ids[k % jobs], subscription(r, tag), (why) => r.ends.push(why)))
  })
  r.connectMs = Math.round(now() - t0)
  return r
}

/** Wait until `expected` events arrived, giving up after `idleMs` without progress. */
async function drain(r, expected, idleMs) {
  let last = -1
  while (r.received < expected && r.received !== last) {
    last = r.received
    const until = Date.now() + idleMs
    while (r.received < expected && Date.now() < until) await sleep(20)
  }
}

function closeRun(r, expected) {
  for (const c of r.conns) c.close()
  run = null
  return {
    expected, received: r.received, lost: Math.max(0, expected - r.received),
    outOfOrder: r.outOfOrder, duplicates: r.duplicates, foreign: r.foreign,
    unexpectedEnds: r.ends.length, endReasons: [...new Set(r.ends)].slice(0, 5), connectMs: r.connectMs,
  }
}

const commands = {
  async init({ redisUrl, prefix }) {
    const redis = new Redis(redisUrl, { enableAutoPipelining: true })
    const made = await makePublisher({ redis, prefix })
    pub = made.publisher
    return { publisher: made.kind }
  },

  /** Publish one `queued` event for each id, so the jobs have a snapshot. */
  async prepublish({ ids }) {
    await pool(ids.length, 200, (k) => pub.publish({ id: ids[k], status: 'queued', data: { tag: 'pre' } }))
    return { published: ids.length }
  },

  // ── subscriber side ─────────────────────────────────────────────────────────
  /** Open `jobs` × `subsPerJob` subscriptions (one connection each); resolves once all are confirmed. */
  async streamOpen(args) {
    run = await openRun({ ...args, samples: args.jobs * args.subsPerJob * args.events })
    return { open: run.conns.length, connectMs: run.connectMs }
  },

  /** Wait for the `expected` deliveries, close, and summarize latency and integrity. */
  async streamDrain({ expected }) {
    const r = run
    await drain(r, expected, 5000)
    return { ...summarize(r.lat.subarray(0, Math.min(r.received, r.lat.length))), ...closeRun(r, expected) }
  },

  /** Subscriptions for a throughput run; reports `{ progress }` every 2 ms until drained. */
  async throughputOpen(args) {
    run = await openRun({ ...args, subsPerJob: 1, samples: 0 })
    let sent = -1
    run.timer = setInterval(() => { if (run && run.received !== sent) process.send({ progress: (sent = run.received) }) }, 2)
    return { open: run.conns.length }
  },

  /** Count deliveries during `durationMs`, after `warmMs`. */
  async throughputMeasure({ warmMs, durationMs }) {
    await sleep(warmMs)
    const c0 = run.received, t0 = now()
    await sleep(durationMs)
    const seconds = (now() - t0) / 1000
    return { eventsPerSec: Math.round((run.received - c0) / seconds), seconds }
  },

  async throughputDrain({ published }) {
    const r = run
    await drain(r, published, 2000)
    clearInterval(r.timer)
    const out = closeRun(r, published)
    return { ...out, delivered: out.received, published }
  },

  // ── publisher side ──────────────────────────────────────────────────────────
  /**
   * Publish `events` per job of `ids`-like jobs (`${tag}-${j}`) at a steady `rate`
   * (events/s, round-robin over jobs), `data.t` = publish time on the shared clock.
   */
  async publishSteady({ jobs, events, rate, tag }) {
    const total = jobs * events
    let k = 0, pubErrors = 0, refused = 0
    const start = now()
    await new Promise((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1)
        while (k < due) {
          const i = Math.floor(k / jobs)
          pub.publish({ id: `${tag}-${k % jobs}`, status: 'active', data: { tag, i, t: now() } })
            .then((o) => { if (o && o.published === false) refused++ }, () => { pubErrors++ })
          k++
        }
        if (k < total) setTimeout(tick, 1)
        else resolve()
      }
      tick()
    })
    const publishMs = now() - start
    return { published: total, publishMs: Math.round(publishMs), publishRate: Math.round((total / publishMs) * 1000), pubErrors, refused }
  },

  /** Publish as fast as delivery keeps up: never more than `window` published but not delivered. */
  async pumpStart({ jobs, window, tag }) {
    const p = (pumpState = { published: 0, delivered: 0, stopped: false, pubErrors: 0, scheduled: false })
    p.pump = () => {
      p.scheduled = false
      while (!p.stopped && p.published - p.delivered < window) {
        const k = p.published++
        pub.publish({ id: `${tag}-${k % jobs}`, status: 'active', data: { tag, i: Math.floor(k / jobs), t: now() } })
          .catch(() => { p.pubErrors++ })
      }
    }
    p.pump()
    return {}
  },

  delivered({ n }) {
    const p = pumpState
    if (!p) return
    p.delivered = n
    if (!p.scheduled && !p.stopped) { p.scheduled = true; setImmediate(p.pump) }
  },

  async pumpStop() {
    const p = pumpState
    p.stopped = true
    pumpState = null
    return { published: p.published, pubErrors: p.pubErrors }
  },

  // ── memory and polling ──────────────────────────────────────────────────────
  /** Open idle subscriptions (one connection each) and keep them. */
  async openIdle({ base, transport, ids }) {
    const ends = []
    await pool(ids.length, 100, async (k) => {
      idle.push(await connect(transport, base, ids[k], () => {}, (why) => ends.push(why)))
    })
    return { open: idle.length, unexpectedEnds: ends.length }
  },

  async closeIdle() {
    for (const c of idle) c.close()
    const n = idle.length
    idle = []
    return { closed: n }
  },

  /** Keep-alive polling of one URL with autocannon. */
  async poll({ url, connections, durationSec }) {
    const r = await autocannon({ url, connections, duration: durationSec, pipelining: 1 })
    return {
      reqPerSec: Math.round(r.requests.average), total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99,
      non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts,
    }
  },

  async close() {
    if (pub) await pub.close()
    setImmediate(() => process.exit(0))
    return {}
  },
}

// The bench process is gone (crashed, killed, its output pipe closed): do not linger.
process.on('disconnect', () => process.exit(0))

process.on('message', async (msg) => {
  if (msg.cmd === 'delivered') return commands.delivered(msg)
  try {
    const result = await commands[msg.cmd](msg)
    process.send({ seq: msg.seq, ok: true, result })
  } catch (err) {
    process.send({ seq: msg.seq, ok: false, error: err?.stack ?? String(err) })
  }
})
