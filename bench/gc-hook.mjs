// Preloaded (`--import`) into both servers, which run with `--expose-gc`: SIGUSR2 runs a
// full GC, so the memory scenario reads RSS without garbage from the connection ramp, and
// logs the heap split (to the server's log file in the run's log directory). With
// JOBCAST_BENCH_HEAPSNAP_DIR set it also writes a heap snapshot there each time
// (compare two with bench/heap-diff.mjs).
import v8 from 'node:v8'
import path from 'node:path'

let n = 0
process.on('SIGUSR2', () => {
  globalThis.gc?.()
  const m = process.memoryUsage()
  const kib = (v) => Math.round(v / 1024)
  console.error(`[bench-gc] rss ${kib(m.rss)} KiB heapUsed ${kib(m.heapUsed)} KiB heapTotal ${kib(m.heapTotal)} KiB external ${kib(m.external)} KiB arrayBuffers ${kib(m.arrayBuffers)} KiB`)
  const spaces = v8.getHeapSpaceStatistics().map((s) => `${s.space_name.replace('_space', '')} ${kib(s.space_used_size)}/${kib(s.space_size)}`).join(', ')
  console.error(`[bench-gc] spaces (used/committed KiB): ${spaces}`)
  const dir = process.env.JOBCAST_BENCH_HEAPSNAP_DIR
  if (dir) console.error(`[bench-gc] heap snapshot ${v8.writeHeapSnapshot(path.join(dir, `heap-${process.pid}-${++n}.heapsnapshot`))}`)
})
