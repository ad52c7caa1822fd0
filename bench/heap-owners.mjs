/**
 * Who holds the objects that appeared between two heap snapshots of one process: for new
 * nodes whose "type name" contains `match`, count their retainers by "owner type name
 * .edge". Narrows a per-connection cost down to the code that allocates it.
 * Usage: node bench/heap-owners.mjs <before.heapsnapshot> <after.heapsnapshot> <match> [top=20]
 */
import fs from 'node:fs'

const [a, b, match, topArg = '20'] = process.argv.slice(2)
if (!match) { console.error('[bench] usage: node bench/heap-owners.mjs <before> <after> <match> [top]'); process.exit(1) }
const load = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const before = load(a)
const idIndex = before.snapshot.meta.node_fields.indexOf('id')
const beforeIds = new Set()
for (let i = 0; i < before.nodes.length; i += before.snapshot.meta.node_fields.length) beforeIds.add(before.nodes[i + idIndex])
const snap = load(b)
const nf = snap.snapshot.meta.node_fields, ef = snap.snapshot.meta.edge_fields
const nodeTypes = snap.snapshot.meta.node_types[0], edgeTypes = snap.snapshot.meta.edge_types[0]
const NW = nf.length, EW = ef.length
const T = nf.indexOf('type'), N = nf.indexOf('name'), ID = nf.indexOf('id'), EC = nf.indexOf('edge_count')
const ET = ef.indexOf('type'), EN = ef.indexOf('name_or_index'), TO = ef.indexOf('to_node')
const nodes = snap.nodes, edges = snap.edges, strings = snap.strings
const label = (i) => {
  const type = nodeTypes[nodes[i + T]]
  const name = strings[nodes[i + N]]
  return `${type} ${type.includes('string') ? '(string)' : name.slice(0, 50)}`
}
const counts = new Map()
let e = 0
for (let i = 0; i < nodes.length; i += NW) {
  const owner = label(i)
  for (let k = 0; k < nodes[i + EC]; k++, e += EW) {
    const to = edges[e + TO]
    if (beforeIds.has(nodes[to + ID])) continue
    const target = label(to)
    if (!target.includes(match)) continue
    const et = edgeTypes[edges[e + ET]]
    if (et === 'weak') continue
    const en = et === 'element' || et === 'hidden' ? `[${et}]` : String(strings[edges[e + EN]] ?? edges[e + EN])
    const key = `${target}  <-  ${owner} .${en}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
}
for (const [k, v] of [...counts].sort((x, y) => y[1] - x[1]).slice(0, Number(topArg))) console.log(String(v).padStart(8), k)
