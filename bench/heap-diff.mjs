/**
 * What grew between two V8 heap snapshots, by node type and constructor name: count and
 * self size, largest first. Used to explain the memory scenario (per-connection heap).
 * Usage: node bench/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [top=30] [perConnections]
 */
import fs from 'node:fs'

function aggregate(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'))
  const f = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = f.length
  const iType = f.indexOf('type'), iName = f.indexOf('name'), iSize = f.indexOf('self_size')
  const out = new Map()
  const nodes = snap.nodes
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]]
    let name = snap.strings[nodes[i + iName]]
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)'
    else if (type === 'code') name = '(code)'
    else if (type === 'number') name = '(number)'
    else if (name.length > 60) name = name.slice(0, 57) + '...'
    const key = `${type} ${name}`
    const e = out.get(key) ?? { count: 0, size: 0 }
    e.count++
    e.size += nodes[i + iSize]
    out.set(key, e)
  }
  return out
}

const [a, b, topArg = '30', perArg] = process.argv.slice(2)
if (!a || !b) { console.error('[bench] usage: node bench/heap-diff.mjs <before> <after> [top] [connections]'); process.exit(1) }
const before = aggregate(a), after = aggregate(b)
const per = perArg ? Number(perArg) : 0
const rows = []
let total = 0
for (const [key, e] of after) {
  const o = before.get(key) ?? { count: 0, size: 0 }
  const d = { key, count: e.count - o.count, size: e.size - o.size }
  total += d.size
  rows.push(d)
}
rows.sort((x, y) => y.size - x.size)
console.log(`heap growth ${(total / 1024).toFixed(0)} KiB${per ? ` = ${(total / 1024 / per).toFixed(2)} KiB per connection` : ''}`)
for (const r of rows.slice(0, Number(topArg))) {
  console.log(`${(r.size / 1024).toFixed(0).padStart(8)} KiB ${String(r.count).padStart(8)} objs${per ? `  ${(r.size / per).toFixed(0).padStart(6)} B/conn ${(r.count / per).toFixed(2).padStart(6)}/conn` : ''}  ${r.key}`)
}
