/** Helpers to read the demo page (packages/gateway/demo) from a browser test. */
import type { Locator, Page } from 'playwright-core'

/** One update the demo page received (`window.jobcastDemo.events[id]`). */
export interface SeenEvent {
  seq: number
  status: string
  progress?: number
  transport?: string
}

/** The newest card of a job kind. */
export function cardOf(page: Page, kind: string): Locator {
  return page.locator(`[data-testid="job"][data-kind="${kind}"]`).first()
}

/** Every update the page received for job `id`, in order. */
export function demoEvents(page: Page, id: string): Promise<SeenEvent[]> {
  return page.evaluate((jobId) => {
    const w = window as unknown as { jobcastDemo: { events: Record<string, SeenEvent[]> } }
    return w.jobcastDemo.events[jobId] ?? []
  }, id)
}

/** The progress values of those updates, in order (events without progress skipped). */
export function progressSteps(events: readonly SeenEvent[]): number[] {
  return events.flatMap((e) => (typeof e.progress === 'number' ? [e.progress] : []))
}
