/**
 * Simulated jobs for demo mode: each publishes a realistic sequence of events through the
 * publisher, exactly as a real worker would.
 */
import type { Publisher } from '../publisher.js'

/** Kinds of demo job. */
export type DemoJobKind = 'export' | 'fail' | 'slow'

/** Every demo job kind. */
export const DEMO_JOB_KINDS: readonly DemoJobKind[] = ['export', 'fail', 'slow']

/** Timing of a demo job (shortened in tests). */
export interface DemoTiming {
  /** Export duration, ms. @default 6000 */
  exportMs: number
  /** Slow job duration, ms. @default 30000 */
  slowMs: number
}

/** Default demo timings. */
export const DEFAULT_DEMO_TIMING: DemoTiming = { exportMs: 6_000, slowMs: 30_000 }

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })

/** The rows of the CSV a demo export produces. */
export const DEMO_ROWS = 1_000

/**
 * Run one simulated job to its terminal event. `fileUrl` is where the export's CSV is served.
 * Stops quietly when `signal` aborts (gateway shutdown).
 */
export async function runDemoJob(publisher: Publisher, id: string, kind: DemoJobKind, fileUrl: string, timing: DemoTiming, signal: AbortSignal): Promise<void> {
  const total = DEMO_ROWS
  const steps = kind === 'fail' ? 6 : 10
  const duration = kind === 'slow' ? timing.slowMs : timing.exportMs
  await publisher.queued(id, { message: 'Waiting for a worker' })
  await sleep(duration / (steps + 1), signal)
  await publisher.active(id, { progress: 0, message: 'Started', data: { processed: 0, total } })
  for (let step = 1; step <= steps && !signal.aborted; step++) {
    await sleep(duration / (steps + 1), signal)
    if (signal.aborted) return
    if (kind === 'fail' && step === steps) {
      await publisher.fail(id, { message: 'The export source went away (simulated failure)', code: 'source_unavailable' })
      return
    }
    const progress = Math.round((step * 100) / (kind === 'fail' ? 10 : steps))
    const processed = Math.round((total * progress) / 100)
    if (progress >= 100) break
    await publisher.progress(id, progress, { message: `Exported ${processed} of ${total} rows`, data: { processed, total } })
  }
  if (signal.aborted) return
  await publisher.complete(id, { downloadUrl: fileUrl, rows: total }, { message: `Exported ${total} rows` })
}

/** The small CSV a finished demo export serves. */
export function demoCsv(id: string): string {
  const lines = ['row,job,value']
  for (let i = 1; i <= 20; i++) lines.push(`${i},${id},${(i * 37) % 101}`)
  return `${lines.join('\n')}\n`
}
