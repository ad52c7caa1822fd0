import { createParser, type EventSourceMessage } from 'eventsource-parser'
import type { TransportFactory } from './transport.js'
import { auth, dispatch, readRefusal } from './transport.js'

/**
 * Server-sent events over `fetch` (so the token travels as a header and `Last-Event-ID` is
 * ours) on the gateway's multi-job stream `/v1/events?id=…`: one connection for all jobs
 * sharing a token, so ten jobs do not use up the browser's six connections per origin. The
 * stream is reopened when the watched set changes, resuming from the per-job cursor.
 */
export const sse: TransportFactory = ({ options: o, sink, token }) => {
  const ids = new Map<string, number>()
  let ctrls: AbortController[] = []
  let pending = false
  let closed = false
  let last = 0
  let timer: unknown

  const onEvent = (m: EventSourceMessage) => {
    try {
      const d = JSON.parse(m.data)
      // Keep each job's cursor so a reopen (the watched set changed) resumes where it was.
      dispatch(sink, m.event ?? (ids.has(d.id) && ids.set(d.id, d.seq), 'job'), d)
    } catch {
      // Not JSON: nothing the contract sends; skip it rather than drop the stream.
    }
  }

  const stream = async (list: string[], t: string | undefined) => {
    const c = new AbortController()
    ctrls.push(c)
    const cursor = list.map((id) => ids.get(id)).join()
    try {
      const res = await o.fetch(`${o.url}/v1/events?${list.map((id) => 'id=' + encodeURIComponent(id)).join('&')}`, {
        headers: { accept: 'text/event-stream', ...auth(t), ...(/[1-9]/.test(cursor) && { 'last-event-id': cursor }) },
        signal: c.signal,
      })
      if (res.status == 204) return
      if (!res.ok || !res.body) {
        const refusal = await readRefusal(res)
        // Retryable: reconnect with backoff like any drop (or fall back if it never worked).
        if (!refusal) throw 0
        return list.forEach((id) => sink.error(id, refusal.code, refusal.message))
      }
      const p = createParser({ onEvent, onComment: sink.alive })
      const r = res.body.getReader()
      const dec = new TextDecoder()
      for (let x; !(x = await r.read()).done; ) {
        last = Date.now()
        p.feed(dec.decode(x.value, { stream: true }))
      }
      throw 0
    } catch {
      if (!c.signal.aborted) sink.fail()
    }
  }

  const open = async () => {
    pending = false
    const list = [...ids.keys()]
    const toks = await Promise.all(list.map(token))
    if (pending || closed) return
    const groups = new Map<string | undefined, string[]>()
    list.forEach((id, i) => groups.set(toks[i], [...(groups.get(toks[i]) ?? []), id]))
    // The gateway takes at most 100 jobs per stream by default (`--max-jobs-per-stream`).
    groups.forEach((ids, t) => {
      for (let i = 0; i < ids.length; i += 100) stream(ids.slice(i, i + 100), t)
    })
  }

  const reopen = () => {
    ctrls.forEach((c) => c.abort())
    ctrls = []
    if (!pending && !closed) {
      pending = true
      queueMicrotask(open)
    }
  }

  const watch = (ms: number) => {
    timer = o.setTimeout(() => {
      if (Date.now() - last > (last ? o.heartbeatTimeout : 0)) return sink.fail()
      watch(o.heartbeatTimeout / 3)
    }, ms)
  }
  watch(o.connectTimeout)

  return {
    add(id, since) {
      ids.set(id, since)
      reopen()
    },
    remove(id) {
      ids.delete(id) && reopen()
    },
    close() {
      closed = true
      o.clearTimeout(timer)
      reopen()
    },
  }
}
