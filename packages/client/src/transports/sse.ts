import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { authorization, dispatch, missingRoute, readRefusal, type TransportFactory } from './transport.js'

/** Jobs per stream: the gateway's default `--max-jobs-per-stream`. */
const JOBS_PER_STREAM = 100

/**
 * Server-sent events over `fetch` (so the token travels as a header and `Last-Event-ID` is
 * ours) on the gateway's multi-job stream `/v1/events?id=…`: one connection for all jobs
 * sharing a token, so ten jobs do not use up the browser's six connections per origin. The
 * stream is reopened when the watched set changes, resuming from the per-job cursor.
 */
export const sse: TransportFactory = ({ settings_: settings, sink_: sink, token_: token }) => {
  /** Watched jobs and the seq each resumes after. */
  const cursors = new Map<string, number>()
  let controllers: AbortController[] = []
  let reopenQueued = false
  let closed = false
  let lastChunkAt = 0
  let silenceTimer: unknown

  const onMessage = (message: EventSourceMessage) => {
    try {
      const data = JSON.parse(message.data)
      const type = message.event ?? 'job'
      // Keep each job's cursor so a reopen (the watched set changed) resumes where it was.
      if (type == 'job' && cursors.has(data.id)) cursors.set(data.id, data.seq)
      dispatch(sink, type, data)
    } catch {
      // Not JSON: nothing the contract sends; skip it rather than drop the stream.
    }
  }

  const stream = async (ids: string[], streamToken: string | undefined) => {
    const controller = new AbortController()
    controllers.push(controller)
    // The gateway's multi-job cursor: one seq per id, in the order of the query.
    const lastEventId = ids.map((id) => cursors.get(id)).join()
    try {
      const response = await settings.fetch(`${settings.url}/v1/events?${ids.map((id) => 'id=' + encodeURIComponent(id)).join('&')}`, {
        headers: { accept: 'text/event-stream', ...authorization(streamToken), ...(/[1-9]/.test(lastEventId) && { 'last-event-id': lastEventId }) },
        signal: controller.signal,
      })
      // Every job of the stream already ended at or before its cursor.
      if (response.status == 204) return
      if (response.ok && response.body) {
        const parser = createParser({ onEvent: onMessage, onComment: sink.alive_ })
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        for (let chunk; !(chunk = await reader.read()).done; ) {
          lastChunkAt = Date.now()
          parser.feed(decoder.decode(chunk.value, { stream: true }))
        }
        // The stream ended: a drop, reported below.
      } else {
        const refusal = await readRefusal(response)
        if (missingRoute(refusal)) return sink.fail_(true)
        if (refusal) return ids.forEach((id) => sink.error_(id, refusal.code, refusal.message))
        // Retryable: reconnect with backoff like any drop (or fall back if it never worked).
      }
    } catch {
      // A network error, or our own abort: told apart below.
    }
    if (!controller.signal.aborted) sink.fail_()
  }

  const open = async () => {
    reopenQueued = false
    const ids = [...cursors.keys()]
    const tokens = await Promise.all(ids.map(token))
    if (reopenQueued || closed) return
    // Jobs sharing a token share a stream.
    const idsByToken = new Map<string | undefined, string[]>()
    ids.forEach((id, index) => idsByToken.set(tokens[index], [...(idsByToken.get(tokens[index]) ?? []), id]))
    idsByToken.forEach((sameTokenIds, streamToken) => {
      for (let start = 0; start < sameTokenIds.length; start += JOBS_PER_STREAM)
        stream(sameTokenIds.slice(start, start + JOBS_PER_STREAM), streamToken)
    })
  }

  // Changes within one task (ten jobs watched in a loop) cost one reopen.
  const reopen = () => {
    controllers.forEach((controller) => controller.abort())
    controllers = []
    if (!reopenQueued && !closed) {
      reopenQueued = true
      queueMicrotask(open)
    }
  }

  // The first check comes after connectTimeout: a stream with no byte by then failed (a
  // buffering proxy holds it back).
  const checkSilence = (delay: number) => {
    silenceTimer = settings.setTimeout(() => {
      if (Date.now() - lastChunkAt > (lastChunkAt ? settings.heartbeatTimeout : 0)) return sink.fail_()
      checkSilence(settings.heartbeatTimeout / 3)
    }, delay)
  }
  checkSilence(settings.connectTimeout)

  return {
    subscribe_(id, since) {
      cursors.set(id, since)
      reopen()
    },
    unsubscribe_(id) {
      if (cursors.delete(id)) reopen()
    },
    close_() {
      closed = true
      settings.clearTimeout(silenceTimer)
      reopen()
    },
  }
}
