/**
 * Summarize a V8 `.cpuprofile` (from `JOBCAST_BENCH_PROF=gateway npm run bench`, written to
 * the run's log directory): top functions by self time and by inclusive time.
 * Usage: node bench/profile-summary.mjs <file.cpuprofile> [top=25] [filter-substring]
 */
import fs from 'node:fs'
import path from 'node:path'

const [file, topArg = '25', filter] = process.argv.slice(2)
if (!file) { console.error('[bench] usage: node bench/profile-summary.mjs <file.cpuprofile> [top] [filter]'); process.exit(1) }
const prof = JSON.parse(fs.readFileSync(file, 'utf8'))
const top = Number(topArg)
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const self = new Map()
const dt = prof.timeDeltas
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const label = (n) => {
  const f = n.callFrame
  const where = f.url ? `${path.relative(process.cwd(), f.url.replace('file://', ''))}:${f.lineNumber + 1}` : ''
  return `${f.functionName || '(anonymous)'} ${where}`.trim()
}
const selfBy = new Map(), inclBy = new Map()
for (const [id, t] of self) {
  const n = byId.get(id)
  selfBy.set(label(n), (selfBy.get(label(n)) ?? 0) + t)
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur))
    if (!seen.has(l)) { seen.add(l); inclBy.set(l, (inclBy.get(l) ?? 0) + t) }
  }
}
const show = (title, m) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`)
  ;[...m].filter(([l]) => !filter || l.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
    .forEach(([l, t]) => console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${l}`))
}
show('self time', selfBy)
show('inclusive time', inclBy)
