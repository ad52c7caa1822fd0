/**
 * `@jobcast/client/element`: importing it registers `<jobcast-progress>` (once: a page may
 * load it twice). Kept apart from the core so `@jobcast/client` stays tiny.
 *
 * @example
 * ```html
 * <script type="module">import '@jobcast/client/element'</script>
 * <jobcast-progress job="export-42" src="/jobcast" token="…"></jobcast-progress>
 * ```
 */
import { JobcastProgressElement } from './jobcast-progress.js'

export { JobcastProgressElement } from './jobcast-progress.js'
export type { JobcastProgressDetail } from './jobcast-progress.js'
export type { JobSubscriber } from './client-cache.js'

/** The tag name the element is registered under. */
export const JOBCAST_PROGRESS_TAG = 'jobcast-progress'

/** Registers `<jobcast-progress>` unless already defined; a no-op outside browsers. */
export function defineJobcastProgress(): void {
  if (typeof customElements !== 'undefined' && !customElements.get(JOBCAST_PROGRESS_TAG)) {
    customElements.define(JOBCAST_PROGRESS_TAG, JobcastProgressElement)
  }
}

defineJobcastProgress()
