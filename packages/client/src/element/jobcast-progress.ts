/**
 * `<jobcast-progress job="export-42" src="/jobcast" token="…">`: an accessible progress bar
 * for one job, with no framework. Themable with CSS custom properties and `::part()`.
 */
import type { UpdateInfo } from '../options.js'
import type { JobEvent } from '../protocol.js'
import { acquireClient, type JobSubscriber } from './client-cache.js'

/** `detail` of the element's `jobcast:progress`, `jobcast:completed` and `jobcast:failed` events. */
export interface JobcastProgressDetail {
  /** The latest event; absent when watching failed before any event (not found, auth…). */
  job?: JobEvent
  /** The transport that delivered `job`. */
  transport?: UpdateInfo['transport']
  /** On `jobcast:failed` without a job event (not found, unauthorized, timeout): why. */
  error?: Error
}

const TEMPLATE = `<style>
:host{display:block;--jobcast-bar-color:#2f6fed;--jobcast-done-color:#1f9d55;--jobcast-error-color:#d64545;--jobcast-track-color:#e9edf2;--jobcast-height:8px;--jobcast-radius:999px;--jobcast-muted-color:#5f6b7a}
:host([hidden]),[hidden]{display:none!important}
[part=header]{display:flex;flex-wrap:wrap;justify-content:space-between;gap:0 8px;font-size:.875em}
[part=status]{color:var(--jobcast-muted-color)}
[part=track]{height:var(--jobcast-height);margin:6px 0;overflow:hidden;border-radius:var(--jobcast-radius);background:var(--jobcast-track-color)}
[part=bar]{height:100%;width:0;border-radius:inherit;background:var(--jobcast-bar-color);transition:width .2s}
:host([status=completed]) [part=bar]{background:var(--jobcast-done-color)}
:host([status=failed]) [part=bar],:host([status=error]) [part=bar]{background:var(--jobcast-error-color)}
[part=error]{color:var(--jobcast-error-color)}
@media (prefers-reduced-motion:reduce){[part=bar]{transition:none}}
</style><div part="header"><span part="label"></span><span part="status" aria-live="polite"></span></div><div part="track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div part="bar"></div></div><a part="result" hidden>Download</a><div part="error" role="alert" hidden></div>`

/**
 * Only http(s) links (relative ones included) become the result link: a `javascript:` URL in a
 * job's result, e.g. built from user input by the producer, must not turn into a clickable script.
 */
const isWebUrl = (url: unknown): url is string => {
  try {
    return typeof url === 'string' && /^https?:$/.test(new URL(url, document.baseURI).protocol)
  } catch {
    return false
  }
}

// `HTMLElement` does not exist in Node: let the module load there (SSR) without defining anything.
const Base = (typeof HTMLElement === 'undefined' ? class {} : HTMLElement) as typeof HTMLElement

/**
 * The `<jobcast-progress>` element. Attributes: `job` (id), `src` (gateway URL, relative or
 * absolute; default the page's origin), `token`, `label` (accessible name; default
 * `Job <id>`). Reflects `status` (`queued`…`failed`, or `error`) and `progress` on itself.
 * Events (bubbling, composed): `jobcast:progress` on every update, then `jobcast:completed`
 * or `jobcast:failed`; `detail` is {@link JobcastProgressDetail}.
 */
export class JobcastProgressElement extends Base {
  static readonly observedAttributes = ['job', 'src', 'token', 'label']

  /**
   * A client to use instead of a shared one built from `src` and `token` (it is not closed
   * by the element). @default undefined
   */
  client?: JobSubscriber

  #parts?: {
    label: HTMLElement
    status: HTMLElement
    track: HTMLElement
    bar: HTMLElement
    result: HTMLAnchorElement
    error: HTMLElement
  }
  #stop?: () => void
  #pending = false
  #job?: JobEvent

  /** The latest event received for the current job. */
  get state(): JobEvent | undefined {
    return this.#job
  }

  connectedCallback(): void {
    if (!this.#parts) {
      const root = this.attachShadow({ mode: 'open' })
      root.innerHTML = TEMPLATE
      const part = <T extends HTMLElement>(name: string) => root.querySelector(`[part="${name}"]`) as T
      this.#parts = {
        label: part('label'),
        status: part('status'),
        track: part('track'),
        bar: part('bar'),
        result: part<HTMLAnchorElement>('result'),
        error: part('error'),
      }
      // Render the label and an empty bar at once; the subscription follows in a microtask.
      this.#reset(this.getAttribute('job'))
    }
    this.#schedule()
  }

  disconnectedCallback(): void {
    this.#unwatch()
  }

  attributeChangedCallback(): void {
    if (this.isConnected) this.#schedule()
  }

  // Coalesce several attribute changes in one task into one (re)subscription.
  #schedule(): void {
    if (this.#pending) return
    this.#pending = true
    queueMicrotask(() => {
      this.#pending = false
      if (this.isConnected) this.#watch()
    })
  }

  #unwatch(): void {
    this.#stop?.()
    this.#stop = undefined
  }

  #watch(): void {
    this.#unwatch()
    this.#job = undefined
    const id = this.getAttribute('job')
    this.#reset(id)
    if (!id) return
    let client = this.client
    let release: (() => void) | undefined
    if (!client) {
      const url = new URL(this.getAttribute('src') ?? '/', document.baseURI).href
      const token = this.getAttribute('token') ?? undefined
      const lease = acquireClient({ url, token })
      client = lease.client
      release = lease.release
    }
    let unsubscribe: (() => void) | undefined
    let stopped = false
    this.#stop = () => {
      if (stopped) return
      stopped = true
      unsubscribe?.()
      release?.()
    }
    unsubscribe = client.subscribe(id, (job, info) => this.#update(job, info.transport), {
      onError: (error) => this.#fail(error),
    })
    if (stopped) unsubscribe()
  }

  #reset(id: string | null): void {
    const p = this.#parts
    if (!p) return
    p.label.textContent = this.getAttribute('label') ?? (id ? `Job ${id}` : '')
    p.track.setAttribute('aria-label', this.getAttribute('label') ?? (id ? `Job ${id} progress` : 'Job progress'))
    p.track.setAttribute('aria-valuenow', '0')
    p.track.removeAttribute('aria-valuetext')
    p.bar.style.width = '0%'
    p.status.textContent = id ? 'waiting…' : ''
    p.result.hidden = true
    p.error.hidden = true
    this.removeAttribute('status')
    this.removeAttribute('progress')
  }

  #update(job: JobEvent, transport: UpdateInfo['transport']): void {
    const p = this.#parts
    if (!p) return
    // A failed event usually carries no progress: keep the bar where the job stopped.
    const known = job.progress ?? (job.status === 'completed' ? 100 : (this.#job?.progress ?? 0))
    this.#job = job
    const progress = Math.max(0, Math.min(100, Math.round(known)))
    this.setAttribute('status', job.status)
    this.setAttribute('progress', String(progress))
    p.track.setAttribute('aria-valuenow', String(progress))
    p.track.setAttribute('aria-valuetext', `${progress}% ${job.message ?? job.status}`)
    p.bar.style.width = `${progress}%`
    p.status.textContent = `${progress}% · ${job.message ?? job.status}`
    const detail: JobcastProgressDetail = { job, transport }
    this.#emit('jobcast:progress', detail)
    if (job.status === 'completed') {
      const url = job.result?.['downloadUrl']
      if (isWebUrl(url)) {
        p.result.href = url
        p.result.hidden = false
      }
      this.#emit('jobcast:completed', detail)
    } else if (job.status === 'failed' || job.status === 'cancelled') {
      this.#showError(job.error?.message ?? `Job ${job.status}`)
      this.#emit('jobcast:failed', detail)
    }
  }

  #fail(error: Error): void {
    if (error.name === 'AbortError') return
    this.setAttribute('status', 'error')
    this.#showError(error.message)
    this.#emit('jobcast:failed', { job: this.#job, error })
  }

  #showError(message: string): void {
    const p = this.#parts
    if (!p) return
    p.error.textContent = message
    p.error.hidden = false
  }

  #emit(type: string, detail: JobcastProgressDetail): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'jobcast-progress': JobcastProgressElement
  }
  interface HTMLElementEventMap {
    'jobcast:progress': CustomEvent<JobcastProgressDetail>
    'jobcast:completed': CustomEvent<JobcastProgressDetail>
    'jobcast:failed': CustomEvent<JobcastProgressDetail>
  }
}
