/** Helpers to read the demo page (packages/gateway/demo) from a browser test. */
import type { Locator, Page } from 'playwright-core'

/** One update the demo page received (`window.jobcastDemo.events[id]`). */
export interface SeenEvent {
  seq: number
  status: string
  progress?: number
  transport?: string
  /** `Date.now()` in the page when it arrived. */
  at: number
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

/** When the page started job `id` (button click), in the page's `Date.now()`. */
export function startedAt(page: Page, id: string): Promise<number> {
  return page.evaluate((jobId) => {
    const w = window as unknown as { jobcastDemo: { started: Record<string, number> } }
    return w.jobcastDemo.started[jobId] ?? Number.NaN
  }, id)
}

/** Waits until the newest card of `kind` reaches a terminal status; returns its id. */
export async function waitTerminal(page: Page, kind: string, timeout = 20_000): Promise<string> {
  await page.waitForFunction(
    (k) => /^(completed|failed|cancelled)$/.test(document.querySelector(`[data-testid="job"][data-kind="${k}"]`)?.getAttribute('data-status') ?? ''),
    kind,
    { timeout },
  )
  return (await cardOf(page, kind).getAttribute('data-job-id')) as string
}

/** Seqs strictly increase (so none repeats) and progress never repeats nor goes back. */
export function assertOrderedOnce(events: readonly SeenEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1]!, events[i]!]
    if (!(b.seq > a.seq)) throw new Error(`[jobcast] seq went ${a.seq} → ${b.seq} at update ${i}: duplicate or out of order`)
  }
  const steps = progressSteps(events)
  for (let i = 1; i < steps.length; i++) {
    // The terminal event repeats 100 only if the last progress step was 100 already.
    if (!(steps[i]! > steps[i - 1]!)) throw new Error(`[jobcast] progress went ${steps[i - 1]} → ${steps[i]}: duplicated step`)
  }
}
