// What `npm run bench` prints: one table (each figure, its ratio to raw WebSocket and to the best
// peer of the same kind), the goals block, and what went wrong along the way.
import { CASES } from './cases.mjs'

/** A figure for people: 3 significant digits, thousands as k. */
export function fmt(v, unit) {
  if (v === undefined) return 'not run'
  if (v == null) return 'failed'
  if (unit == 'msg/s')
    return v >= 1e4 ? (v / 1e3).toFixed(0) + 'k' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : v.toFixed(0)
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
}

const ratio = (r) => (r == null ? '' : r.toFixed(2) + 'x')
const pad = (s, n, right) => (right ? String(s).padStart(n) : String(s).padEnd(n))

/** The table, as lines of text: a heading line per figure, a row per client. */
export function table(rows) {
  const widths = [24, 9, 7, 11, 30]
  const line = (cells) =>
    cells
      .map((c, i) => pad(c, widths[i], i >= 1 && i <= 3))
      .join('  ')
      .trimEnd()
  const out = [
    line(['client / transport', 'value', 'x raw', 'x best peer', 'best peer of the same kind']),
    line(widths.map((w) => '-'.repeat(w))),
  ]
  let metric = null
  for (const r of rows) {
    const m = r.metric
    if (m != metric) out.push(`${metric ? '\n' : ''}${m.label} (${m.unit}, ${m.better} is better)`)
    metric = m
    const peer = r.peer ? `${r.peer.label} ${fmt(r.peer.value, m.unit)}` : ''
    // `!`: only the rounds that completed count; the notes below say what failed.
    out.push(
      line([
        '  ' + r.case.label,
        fmt(r.value, m.unit) + (r.partial && r.value != null ? '!' : ' '),
        ratio(r.vsRaw),
        ratio(r.vsPeer),
        peer,
      ]),
    )
  }
  return out
}

/** Round trips measured alternately with a raw WebSocket in the same page. */
export function pairedLines(figs) {
  return CASES.filter((c) => figs[c.name] && figs[c.name].paired).map((c) => {
    const p = figs[c.name].paired
    const vs = `vs raw ${fmt(p.rawP50, 'ms')} ms = ${(p.p50 / p.rawP50).toFixed(2)}x`
    return `  ${pad(c.label, 28)} p50 ${fmt(p.p50, 'ms')} ms ${vs} (${p.n} pairs)`
  })
}

/** Reply-from-handler round trips alternating with a raw WebSocket in the same page. */
export function handlerPairedLines(figs) {
  return CASES.filter((c) => figs[c.name] && figs[c.name].handlerPaired).map((c) => {
    const p = figs[c.name].handlerPaired
    const vs = `vs raw ${fmt(p.rawP50, 'ms')} ms = ${(p.p50 / p.rawP50).toFixed(2)}x`
    return `  ${pad(c.label, 28)} p50 ${fmt(p.p50, 'ms')} ms ${vs} (${p.n} pairs)`
  })
}

/** 1 MiB bursts alternating with a raw WebSocket in the same page. */
export function burstPairedLines(figs) {
  return CASES.filter((c) => figs[c.name] && figs[c.name].burstsPaired).map((c) => {
    const p = figs[c.name].burstsPaired
    const vs = `vs raw ${fmt(p.rawRate, 'MiB/s')} MiB/s = ${(p.rate / p.rawRate).toFixed(2)}x`
    return `  ${pad(c.label, 28)} ${fmt(p.rate, 'MiB/s')} MiB/s ${vs} (${p.n} pairs)`
  })
}

/** The goals block: met / NOT met from the numbers. */
export function goalLines(list) {
  return list.map((g) => `  ${g.met == null ? '?      ' : g.met ? 'met    ' : 'NOT met'}  ${g.goal}: ${g.shown}`)
}

/** Per case: transports actually used and everything that failed or looked wrong. */
export function noteLines(figs) {
  const out = []
  for (const c of CASES) {
    const f = figs[c.name]
    if (!f) continue
    const expected = c.name == 'raw' ? 'websocket' : c.name.split('-').slice(1).join('-').replace('-transfer', '')
    const odd = f.transports.filter((t) => t != expected)
    if (odd.length) out.push(`  ${c.label}: carried by ${f.transports.join(', ')}`)
    for (const n of [...new Set(f.notes)]) out.push(`  ${c.label}: ${n}`)
  }
  return out
}

/** The interference section, or why it was skipped. */
export function interferenceLines(inter) {
  if (!inter || inter.skipped) return [`  skipped: ${inter ? inter.skipped : 'not run'}`]
  const out = []
  for (const [kind, why] of Object.entries(inter.unavailable || {})) out.push(`  ${pad(kind, 18)} skipped: ${why}`)
  for (const r of inter.results || []) {
    const ms = r.ms.slice().sort((a, b) => a - b)
    const med = ms.length ? ms[ms.length >> 1].toFixed(0) + ' ms' : '-'
    out.push(
      `  ${pad(r.kind, 18)} median ${pad(med, 9, true)} over ${r.ms.length} tries, ` +
        `on ${[...new Set(r.transports)].join(', ') || '-'}${r.errors.length ? '; ' + r.errors.join('; ') : ''}`,
    )
  }
  return out
}
