/**
 * Client-side connections the load worker opens: one job subscription over WebSocket or
 * SSE, speaking only the protocol subset both the gateway and the baseline implement.
 * The same code drives both servers.
 */
import http from 'node:http'
import { WebSocket } from 'ws'
import { now } from './stats.mjs'

/**
 * Open a connection to `base` (http://host:port) subscribed to job `id`. Resolves once the
 * server confirmed the subscription (`subscribed`), with `{ close() }`. `onJob(event, t)`
 * receives every job event with its receive time (shared clock); `onEnd(reason)` an
 * unexpected close or server error.
 */
export function connect(transport, base, id, onJob, onEnd = () => {}) {
  return transport === 'ws' ? connectWs(base, id, onJob, onEnd) : connectSse(base, id, onJob, onEnd)
}

function connectWs(base, id, onJob, onEnd) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false })
    let subscribed = false
    let closing = false
    const handle = {
      close() { closing = true; ws.terminate() },
    }
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id })))
    ws.on('message', (data) => {
      const t = now()
      const msg = JSON.parse(data)
      if (msg.type === 'job') onJob(msg.job, t)
      else if (msg.type === 'subscribed' && msg.id === id) { subscribed = true; resolve(handle) }
      else if (msg.type === 'error') {
        if (!subscribed) { closing = true; ws.terminate(); reject(new Error(`[bench] ws subscribe ${id}: ${msg.code} ${msg.message}`)) } else onEnd(`error ${msg.code}`)
      }
    })
    ws.on('error', (err) => { if (!subscribed) reject(err); else onEnd(`error ${err.message}`) })
    ws.on('close', (code) => {
      if (!subscribed && !closing) reject(new Error(`[bench] ws closed ${code} before subscribed`))
      else if (!closing) onEnd(`close ${code}`)
    })
  })
}

function connectSse(base, id, onJob, onEnd) {
  return new Promise((resolve, reject) => {
    let subscribed = false
    let closing = false
    const req = http.get(`${base}/v1/jobs/${encodeURIComponent(id)}/events`, { agent: false, headers: { accept: 'text/event-stream' } })
    const handle = { close() { closing = true; req.destroy() } }
    req.on('error', (err) => { if (closing) return; if (!subscribed) reject(err); else onEnd(`error ${err.message}`) })
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        closing = true
        req.destroy()
        return reject(new Error(`[bench] SSE ${id}: HTTP ${res.statusCode}`))
      }
      res.setEncoding('utf8')
      let buf = ''
      res.on('data', (chunk) => {
        const t = now()
        buf += chunk
        let end
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, end)
          buf = buf.slice(end + 2)
          let event = 'message'
          let data = ''
          for (const line of block.split('\n')) {
            if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5)
            else if (line.startsWith('event:')) event = line.slice(6).trim()
          }
          if (!data) continue
          if (event === 'message') onJob(JSON.parse(data), t)
          else if (event === 'subscribed') { subscribed = true; resolve(handle) }
          else if (event === 'error') onEnd(`error ${data}`)
        }
      })
      res.on('end', () => { if (!closing) { if (!subscribed) reject(new Error(`[bench] SSE ${id} ended before subscribed`)); else onEnd('end') } })
    })
  })
}
