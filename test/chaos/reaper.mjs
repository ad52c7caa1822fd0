// @ts-check
/**
 * Kills the chaos run's `redis-server` and gateways if the run itself dies without its exit
 * handler (SIGKILL, a test runner tearing its worker down): those processes have no IPC channel
 * to notice it, this one has. Parent messages: `{ watch: pid }`, `{ forget: pid }`.
 */
/** @type {Set<number>} */
const watched = new Set()
process.on('message', (message) => {
  const { watch, forget } = /** @type {{ watch?: number, forget?: number }} */ (message)
  if (watch) watched.add(watch)
  if (forget) watched.delete(forget)
})
process.on('disconnect', () => {
  for (const pid of watched) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  process.exit(0)
})
