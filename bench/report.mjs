/**
 * Turns the raw measurements into the results table (scenario | gateway | baseline |
 * ratio | target | pass) and the dated markdown file.
 */
const fmt = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—')
const int = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—')

/** Build table rows from `results[server][scenarioKey]` (a result object or `{ error }`). */
export function buildRows(results) {
  const g = results.gateway ?? {}
  const b = results.baseline ?? {}
  const rows = []
  const get = (r, key, field) => (r[key] && !r[key].error ? r[key][field] : undefined)
  const err = (r, key) => (r[key]?.error ? 'error' : undefined)

  const maxRatio = (label, key, field, limit, unit) => {
    const gv = get(g, key, field), bv = get(b, key, field)
    const ratio = gv !== undefined && bv ? gv / bv : undefined
    const pass = ratio === undefined ? (err(g, key) ? 'FAIL' : 'n/a') : ratio <= limit ? 'PASS' : '**FAIL**'
    rows.push([label, err(g, key) ?? `${fmt(gv)} ${unit}`, err(b, key) ?? `${fmt(bv)} ${unit}`, ratio === undefined ? '—' : `${fmt(ratio)}×`, `≤ ${limit}×`, pass])
  }
  const minRatio = (label, key, field, limit, unit) => {
    const gv = get(g, key, field), bv = get(b, key, field)
    const ratio = gv !== undefined && bv ? gv / bv : undefined
    const pass = ratio === undefined ? (err(g, key) ? 'FAIL' : 'n/a') : ratio >= limit ? 'PASS' : '**FAIL**'
    rows.push([label, err(g, key) ?? `${int(gv)} ${unit}`, err(b, key) ?? `${int(bv)} ${unit}`, ratio === undefined ? '—' : `${fmt(ratio)}×`, `≥ ${limit}×`, pass])
  }
  const info = (label, key, field, unit) => {
    const gv = get(g, key, field), bv = get(b, key, field)
    const ratio = gv !== undefined && bv ? `${fmt(gv / bv)}×` : '—'
    rows.push([label, err(g, key) ?? `${fmt(gv)} ${unit}`, err(b, key) ?? `${fmt(bv)} ${unit}`, ratio, '(info)', '—'])
  }
  const integrity = (label, key) => {
    const cell = (r) => {
      if (err(r, key)) return 'error'
      const x = r[key]
      if (!x) return '—'
      const extra = `${x.unexpectedEnds ? `, ${x.unexpectedEnds} dropped` : ''}${x.erroredRounds ? `, ${x.erroredRounds} rounds failed` : ''}`
      return `${int(x.received ?? x.delivered)}/${int(x.expected ?? x.published)} lost ${x.lost}, reord ${x.outOfOrder}, dup ${x.duplicates}${extra}`
    }
    const x = g[key]
    const ok = x && !x.error && x.lost === 0 && x.outOfOrder === 0 && x.duplicates === 0 && !x.unexpectedEnds && !x.erroredRounds
    rows.push([label + (x?.rounds ? ' (all rounds)' : ''), cell(g), cell(b), '—', '0 lost / reordered', x ? (ok ? 'PASS' : '**FAIL**') : 'n/a'])
  }
  const memory = (label, key, limit) => {
    const gv = get(g, key, 'kibPerConn'), bv = get(b, key, 'kibPerConn')
    const ratio = gv !== undefined && bv ? `${fmt(gv / bv)}×` : '—'
    const pass = gv === undefined ? (err(g, key) ? 'FAIL' : 'n/a') : gv <= limit ? 'PASS' : '**FAIL**'
    const cell = (r, v) => err(r, key) ?? `${fmt(v)} KiB${r[key]?.rounds ? ` (rounds: ${r[key].rounds.map((x) => (typeof x === 'number' ? fmt(x) : x)).join(', ')})` : ''}`
    rows.push([label, cell(g, gv), cell(b, bv), ratio, `≤ ${limit} KiB (abs.)`, pass])
  }

  info('latency WS p50', 'latencyWs', 'p50', 'ms')
  maxRatio('latency WS p99', 'latencyWs', 'p99', 1.25, 'ms')
  integrity('latency WS delivery', 'latencyWs')
  info('server CPU per 1k events, latency WS', 'latencyWs', 'cpuMsPer1k', 'ms')
  info('latency SSE p50', 'latencySse', 'p50', 'ms')
  maxRatio('latency SSE p99', 'latencySse', 'p99', 1.25, 'ms')
  integrity('latency SSE delivery', 'latencySse')
  info('fan-out WS p50', 'fanout', 'p50', 'ms')
  maxRatio('fan-out WS p99', 'fanout', 'p99', 1.25, 'ms')
  integrity('fan-out delivery', 'fanout')
  info('server CPU per 1k deliveries, fan-out', 'fanout', 'cpuMsPer1k', 'ms')
  minRatio('throughput WS', 'throughput', 'eventsPerSec', 0.8, 'ev/s')
  integrity('throughput delivery', 'throughput')
  info('server CPU per 1k events, throughput', 'throughput', 'cpuMsPer1k', 'ms')
  memory('memory per idle WS', 'memoryWs', 11)
  memory('memory per idle SSE', 'memorySse', 13)
  minRatio('polling GET /v1/jobs/:id', 'polling', 'reqPerSec', 0.8, 'req/s')
  info('polling p99', 'polling', 'p99', 'ms')
  info('server CPU per 1k requests, polling', 'polling', 'cpuMsPer1k', 'ms')
  return rows
}

/** A markdown table. */
export function table(rows) {
  const head = ['scenario', 'gateway', 'baseline', 'ratio', 'target', 'pass']
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}
