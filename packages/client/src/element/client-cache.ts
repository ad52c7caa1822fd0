/**
 * One client per gateway URL and token, shared by every `<jobcast-progress>` and `useJob`
 * on a page, so ten progress bars use one WebSocket. Reference-counted; the last release
 * closes the client after a short delay, so a remount in the same tick (React StrictMode,
 * an element moved in the DOM) reuses it instead of opening a second socket.
 */
import { createClient } from '../index.js'
import type { ClientOptions, SubscribeOptions, UpdateInfo } from '../options.js'
import type { JobEvent } from '../protocol.js'

/** The part of a client that the element and the hook use. */
export interface JobSubscriber {
  subscribe(id: string, onUpdate: (job: JobEvent, info: UpdateInfo) => void, options?: SubscribeOptions): () => void
  close(): unknown
}

/** A shared client and the function that gives it back. */
export interface ClientLease {
  client: JobSubscriber
  /** Gives the client back; safe to call twice. */
  release(): void
}

/** How long an unused shared client stays open for a remount. @default 1000 (ms) */
export const RELEASE_DELAY_MS = 1000

interface Entry {
  client: JobSubscriber
  refs: number
  timer?: ReturnType<typeof setTimeout>
}

// url → token (string, function or undefined) → entry. Functions are keyed by identity.
const cache = new Map<string, Map<unknown, Entry>>()

/**
 * Borrows the shared client for `options.url` and `options.token`. Other options only
 * take effect for the first borrower of that pair.
 */
export function acquireClient(options: ClientOptions): ClientLease {
  const url = options.url.replace(/\/+$/, '')
  let byToken = cache.get(url)
  if (!byToken) cache.set(url, (byToken = new Map()))
  let entry = byToken.get(options.token)
  if (!entry) {
    entry = { client: createClient({ ...options, url }), refs: 0 }
    byToken.set(options.token, entry)
  }
  const held = entry
  if (held.timer !== undefined) {
    clearTimeout(held.timer)
    held.timer = undefined
  }
  held.refs++
  let released = false
  return {
    client: held.client,
    release() {
      if (released) return
      released = true
      if (--held.refs > 0) return
      held.timer = setTimeout(() => {
        if (held.refs > 0) return
        byToken.delete(options.token)
        if (byToken.size === 0 && cache.get(url) === byToken) cache.delete(url)
        held.client.close()
      }, RELEASE_DELAY_MS)
    },
  }
}

/** How many shared clients are open (for tests). @internal */
export function sharedClientCount(): number {
  let n = 0
  for (const byToken of cache.values()) n += byToken.size
  return n
}
