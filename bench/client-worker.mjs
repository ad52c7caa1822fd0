/**
 * The load process: forked by bench/run.mjs so the clients' CPU is not the server's.
 * It opens the subscriptions, publishes through the Lua publish path and measures.
 * Commands arrive over IPC as `{ seq, cmd, ...args }`; each gets `{ seq, ok, result | error }`.
 */
import { Redis } from 'ioredis'
import autocannon from 'autocannon'
import { connect } from './connections.mjs'
import { makePublisher } from './publisher.mjs'
import { now, pool, sleep, summarize } from './stats.mjs'

let pub = null
let idle = []

const commands = {
  async init({ redisUrl, prefix }) {
    // Auto-pipelining makes the publisher cheap, so the relays, not the producer, are the bottleneck.
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

  /**
   * `jobs` × `subsPerJob` subscriptions (one connection each), then `events` per job at a
   * steady `rate` (events/s, round-robin over jobs). Latency = receive time − `data.t`.
   */
  async stream({ base, transport, jobs, subsPerJob, events, rate, tag }) {
    const ids = Array.from({ length: jobs }, (_, j) => `${tag}-${j}`)
    const expected = jobs * subsPerJob * events
    const lat = new Float64Array(expected)
    let received = 0, outOfOrder = 0, duplicates = 0, foreign = 0, pubErrors = 0, refused = 0
    const ends = []
    let done
    const allIn = new Promise((resolve) => { done = resolve })
    const conns = []
    const t0 = now()
    await pool(jobs * subsPerJob, 100, async (k) => {
      const st = { next: 0, lastSeq: 0 }
      const onJob = (job, t) => {
        const d = job.data
        if (!d || d.tag !== tag) { foreign++; return }
        if (job.seq <= st.lastSeq) duplicates++
        else st.lastSeq = job.seq
        if (d.i === st.next) st.next++
        else { outOfOrder++; if (d.i > st.next) st.next = d.i + 1 }
        if (received < expected) lat[received] = t - d.t
        if (++received === expected) done()
      }
      conns.push(await connect(transport, base, ids[k % jobs], onJob, (why) => ends.push(why)))
    })
    const connectMs = now() - t0
    await sleep(200)

    const total = jobs * events
    let k = 0
    const start = now()
    await new Promise((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1)
        while (k < due) {
          const id = ids[k % jobs]
          const i = Math.floor(k / jobs)
          pub.publish({ id, status: 'active', data: { tag, i, t: now() } })
            .then((o) => { if (o && o.published === false) refused++ }, () => { pubErrors++ })
          k++
        }
        if (k < total) setTimeout(tick, 1)
        else resolve()
      }
      tick()
    })
    const publishMs = now() - start
    // Drain: wait for everything, giving up after 5 s without progress.
    let last = -1
    while (received < expected && received !== last) {
      last = received
      await Promise.race([allIn, sleep(5000)])
    }
    for (const c of conns) c.close()
    return {
      ...summarize(lat.subarray(0, Math.min(received, expected))),
      expected, received, lost: Math.max(0, expected - received), outOfOrder, duplicates, foreign,
      pubErrors, refused, unexpectedEnds: ends.length, endReasons: [...new Set(ends)].slice(0, 5),
      connectMs: Math.round(connectMs), publishMs: Math.round(publishMs),
      publishRate: Math.round((total / publishMs) * 1000),
    }
  },

  /**
   * One subscription per job; publish as fast as delivery keeps up, never more than
   * `window` events published but not yet delivered. Counts deliveries for `durationMs`
   * after `warmMs`.
   */
  async throughput({ base, transport, jobs, durationMs, warmMs, window, tag }) {
    const ids = Array.from({ length: jobs }, (_, j) => `${tag}-${j}`)
    let published = 0, delivered = 0, measured = 0, measuring = false, stopped = false
    let outOfOrder = 0, duplicates = 0, pubErrors = 0
    const ends = []
    let scheduled = false
    const pump = () => {
      scheduled = false
      while (!stopped && published - delivered < window) {
        const id = ids[published % jobs]
        const i = Math.floor(published / jobs)
        published++
        pub.publish({ id, status: 'active', data: { tag, i, t: now() } }).catch(() => { pubErrors++ })
      }
    }
    const conns = []
    await pool(jobs, 50, async (k) => {
      const st = { next: 0, lastSeq: 0 }
      const onJob = (job) => {
        const d = job.data
        if (!d || d.tag !== tag) return
        if (job.seq <= st.lastSeq) duplicates++
        else st.lastSeq = job.seq
        if (d.i === st.next) st.next++
        else { outOfOrder++; if (d.i > st.next) st.next = d.i + 1 }
        delivered++
        if (measuring) measured++
        if (!scheduled && !stopped) { scheduled = true; setImmediate(pump) }
      }
      conns.push(await connect(transport, base, ids[k], onJob, (why) => ends.push(why)))
    })
    await sleep(200)
    pump()
    await sleep(warmMs)
    measuring = true
    const t0 = now()
    await sleep(durationMs)
    measuring = false
    const seconds = (now() - t0) / 1000
    stopped = true
    let last = -1
    while (delivered < published && delivered !== last) { last = delivered; await sleep(1000) }
    for (const c of conns) c.close()
    return {
      eventsPerSec: Math.round(measured / seconds), published, delivered, lost: published - delivered,
      outOfOrder, duplicates, pubErrors, unexpectedEnds: ends.length, endReasons: [...new Set(ends)].slice(0, 5),
    }
  },

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

process.on('message', async (msg) => {
  try {
    const result = await commands[msg.cmd](msg)
    process.send({ seq: msg.seq, ok: true, result })
  } catch (err) {
    process.send({ seq: msg.seq, ok: false, error: err?.stack ?? String(err) })
  }
})
