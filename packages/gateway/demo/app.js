// jobcast demo page: plain browser JavaScript on top of the client's IIFE bundle (/jobcast.js,
// global `Jobcast`). No build step: what you read here is what runs.

const LABELS = { export: 'Export CSV', fail: 'Failing job', slow: 'Slow job' }
const $ = (sel, root = document) => root.querySelector(sel)

const connection = $('[data-testid="connection"]')
const connectionText = $('[data-testid="connection-text"]')
const jobsList = $('[data-testid="jobs"]')
const empty = $('[data-testid="empty"]')
const notice = $('[data-testid="notice"]')
const template = $('#job-card')

/** What the page saw, for the end-to-end tests and for curious readers in devtools. */
const seen = { events: {}, states: [], started: {} }
window.jobcastDemo = seen

function showNotice(text) {
  notice.textContent = text
  notice.hidden = !text
}

if (!window.Jobcast || typeof window.Jobcast.createClient !== 'function') {
  showNotice('[jobcast] the client bundle did not load from /jobcast.js: run `npm run build`, then reload.')
  throw new Error('[jobcast] window.Jobcast is missing: build the client (npm run build)')
}

// `/?transports=sse,polling` limits the transports, to see each one at work.
const params = new URLSearchParams(location.search)
const transports = params.get('transports')?.split(',').filter((t) => ['websocket', 'sse', 'polling'].includes(t))

const client = window.Jobcast.createClient({
  url: location.origin,
  ...(transports?.length ? { transports } : {}),
  onStateChange(change) {
    seen.states.push({ state: change.state, transport: change.transport, reason: change.reason, at: Date.now() })
    connection.dataset.state = change.state
    connection.dataset.transport = change.transport ?? ''
    connectionText.textContent = change.transport ? `${change.state} · ${change.transport}` : change.state
  },
})

function render(card, job, transport) {
  // A failed event usually carries no progress: keep the bar where the job stopped.
  const known = job.progress ?? (job.status === 'completed' ? 100 : Number(card.dataset.progress ?? 0))
  const progress = Math.max(0, Math.min(100, Math.round(known)))
  card.dataset.status = job.status
  card.dataset.progress = String(progress)
  if (transport) card.dataset.transport = transport
  $('[data-testid="status"]', card).textContent = job.status
  const bar = $('[data-testid="bar"]', card)
  bar.setAttribute('aria-valuenow', String(progress))
  $('.fill', bar).style.width = `${progress}%`
  $('[data-testid="percent"]', card).textContent = `${progress}%`
  if (transport) $('[data-testid="transport"]', card).textContent = transport
  if (job.message !== undefined || job.status !== 'active') $('[data-testid="message"]', card).textContent = job.message ?? ''
  const url = safeHref(job.result?.downloadUrl)
  const link = $('[data-testid="result-link"]', card)
  if (job.status === 'completed' && url) {
    link.href = url
    link.textContent = /\.csv$/i.test(url) ? 'Download CSV' : 'Download result'
    link.hidden = false
  }
  if (job.status === 'failed' || job.status === 'cancelled') showError(card, job.error?.message ?? `job ${job.status}`)
}

function showError(card, text) {
  card.dataset.status = card.dataset.status === 'completed' ? 'completed' : card.dataset.status || 'error'
  const error = $('[data-testid="error"]', card)
  error.textContent = text
  error.hidden = false
}

function addCard(kind, id) {
  const card = template.content.firstElementChild.cloneNode(true)
  card.dataset.kind = kind
  card.dataset.jobId = id
  card.dataset.status = 'queued'
  $('.kind', card).textContent = LABELS[kind] ?? kind
  $('[data-testid="job-id"]', card).textContent = id
  $('[data-testid="bar"]', card).setAttribute('aria-label', `${LABELS[kind] ?? kind} progress`)
  jobsList.prepend(card)
  empty.hidden = true
  return card
}

function follow(card, id, startedAt = Date.now()) {
  seen.started[id] = startedAt
  const log = (seen.events[id] = [])
  client.subscribe(
    id,
    (job, info) => {
      log.push({ seq: job.seq, status: job.status, progress: job.progress, transport: info?.transport, at: Date.now() })
      render(card, job, info?.transport)
    },
    { onError: (error) => showError(card, error.message) },
  )
}

async function start(kind) {
  const startedAt = Date.now()
  showNotice('')
  let response
  try {
    response = await fetch('/demo/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind }),
    })
  } catch (error) {
    showNotice(`[jobcast] could not reach the gateway (${error.message}): is it still running?`)
    return
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}))
    showNotice(`[jobcast] could not start the job: ${body.error?.message ?? response.status}`)
    return
  }
  const { id } = await response.json()
  follow(addCard(kind, id), id, startedAt)
  if (kind === 'export') showElement(id)
}

for (const button of document.querySelectorAll('button[data-kind]')) {
  button.addEventListener('click', () => start(button.dataset.kind))
}

/** Follows a job started elsewhere (a worker, curl): also reachable as `/?job=<id>`. */
seen.follow = (id, kind = 'export') => follow(addCard(kind, id), id)
const linked = params.get('job')
if (linked) seen.follow(linked)

// The drop-in element, when the gateway serves its self-contained bundle (built by the
// client package): it mirrors the latest export. Without it the section stays hidden.
let elementReady
function showElement(id) {
  elementReady ??= import('/jobcast-element.js').then(
    () => true,
    () => false,
  )
  elementReady.then((ok) => {
    if (!ok) return
    const element = document.createElement('jobcast-progress')
    // Share the page's client, so the element adds no second socket (without this it would
    // make its own from its `src` attribute).
    element.client = client
    element.setAttribute('label', 'Export CSV (element)')
    element.setAttribute('job', id)
    $('[data-testid="element-slot"]').replaceChildren(element)
    $('[data-testid="element-demo"]').hidden = false
  })
}

/** An http(s) URL (relative ones resolved against the page) or undefined: a `javascript:` result link must never become clickable. */
function safeHref(value) {
  if (typeof value !== 'string') return undefined
  try {
    const url = new URL(value, location.href)
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined
  } catch {
    return undefined
  }
}
