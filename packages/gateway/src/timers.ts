/** setTimeout overflows past 2^31-1 ms (~24.8 days), so long waits are done in hops. */
export const MAX_TIMEOUT_MS = 2_147_483_647

/**
 * Run `fn` at `time` (ms since epoch), always asynchronously; returns a cancel function.
 * Unref'd: never keeps the process alive.
 */
export function at(time: number, fn: () => void): () => void {
  let handle: ReturnType<typeof setTimeout>
  const schedule = (): void => {
    handle = setTimeout(fire, Math.min(MAX_TIMEOUT_MS, Math.max(0, time - Date.now())))
    handle.unref?.()
  }
  const fire = (): void => (Date.now() >= time ? fn() : schedule())
  schedule()
  return () => clearTimeout(handle)
}
