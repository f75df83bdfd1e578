// bench/results/index.html: the run as charts, self-contained (inline SVG and CSS, no script,
// nothing fetched). One bar chart per figure, transports grouped by kind, Lifeline in colour.
import { CASES, METRICS } from './cases.mjs'
import { fmt } from './report.mjs'

const COLORS = { raw: '#3d3d3d', lifeline: '#0b7fab', eio: '#d08c2e', sockjs: '#8c6bb1' }
const KIND_ORDER = ['websocket', 'streaming', 'polling']
const ORDERED = KIND_ORDER.flatMap((k) => CASES.filter((c) => c.kind == k))
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
const color = (c) => COLORS[c.name.split('-')[0]]

const W = 580
const LABEL = 150
const BAR = 18
const ROW = 24
const GROUP = 20

/** One metric's bar chart. Log scale when values span more than 30x, so small bars still show. */
function barChart(m, figs) {
  const vals = ORDERED.map((c) => figs[c.name] && figs[c.name][m.key]).filter((v) => v != null && v > 0)
  const max = Math.max(...vals, 1e-9)
  const min = Math.min(...vals, max)
  const log = max / min > 30
  const span = W - LABEL - 70
  const x = (v) => (log ? (Math.log10(v / min) + 0.15) / (Math.log10(max / min) + 0.15) : v / max) * span
  let y = 8
  const parts = []
  const foot = []
  const raw = figs.raw && figs.raw[m.key]
  for (const kind of KIND_ORDER) {
    parts.push(`<text x="0" y="${y + 13}" class="kind">${kind}</text>`)
    y += GROUP
    for (const c of ORDERED.filter((c) => c.kind == kind)) {
      const v = figs[c.name] && figs[c.name][m.key]
      const ll = c.lib == 'lifeline'
      parts.push(
        `<text x="${LABEL - 8}" y="${y + 13}" class="label${ll ? ' ll' : ''}" text-anchor="end">${esc(c.label)}</text>`,
      )
      if (v == null)
        parts.push(
          `<text x="${LABEL}" y="${y + 13}" class="${v === undefined ? 'kind' : 'failed'}">${fmt(v, m.unit)}</text>`,
        )
      else {
        const w = Math.max(2, x(v))
        parts.push(
          `<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" rx="2" fill="${color(c)}"` +
            `${ll ? '' : ' fill-opacity="0.75"'}/>`,
        )
        const partial = figs[c.name].partial[m.key]
        if (partial) foot.push(`! ${c.label}: ${partial}, only completed rounds count`)
        const mark = partial ? ' <tspan class="failed">!</tspan>' : ''
        parts.push(
          `<text x="${(LABEL + w + 6).toFixed(1)}" y="${y + 13}" class="value${ll ? ' ll' : ''}">` +
            `${fmt(v, m.unit)}${mark}</text>`,
        )
      }
      y += ROW
    }
  }
  if (raw) {
    const rx = (LABEL + x(raw)).toFixed(1)
    parts.push(`<line x1="${rx}" x2="${rx}" y1="4" y2="${y}" class="rawline"/>`)
  }
  for (const f of foot) {
    parts.push(`<text x="0" y="${y + 14}" class="failed note">${esc(f)}</text>`)
    y += 18
  }
  const sub = `${m.unit}, ${m.better} is better${log ? ', log scale' : ''}; dashed: raw WebSocket`
  const svg = `<svg width="${W}" height="${y + 4}" viewBox="0 0 ${W} ${y + 4}" role="img" aria-label="${esc(m.label)}">`
  return `<figure><figcaption><b>${esc(m.label)}</b><span>${esc(sub)}</span></figcaption>
${svg}${parts.join('')}</svg></figure>`
}

function goalList(goals) {
  const li = goals.map((g) => {
    const cls = g.met == null ? 'unknown' : g.met ? 'met' : 'not'
    const word = g.met == null ? 'no figure' : g.met ? 'met' : 'not met'
    return `<li class="${cls}"><span class="badge">${word}</span> ${esc(g.goal)} <b>${esc(g.shown)}</b></li>`
  })
  return `<ul class="goals">${li.join('')}</ul>`
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:24px;
max-width:1240px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}.meta{color:#666;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(2,${W + 24}px);gap:12px}
figure{margin:0;padding:12px;border:1px solid #e3e3e3;border-radius:6px}
figcaption{margin-bottom:6px}figcaption span{color:#777;margin-left:8px;font-size:12px}
svg text{font-size:12px;fill:#333}.kind{fill:#999;font-size:11px;text-transform:uppercase;letter-spacing:.05em}
.ll{font-weight:600;fill:#0b5f80}.failed{fill:#c0392b;font-weight:600}svg .note{font-size:11px;font-weight:400}
.rawline{stroke:#3d3d3d;stroke-dasharray:3 3;stroke-width:1}
.goals{list-style:none;padding:0;margin:0}.goals li{margin:4px 0}
.badge{display:inline-block;min-width:64px;text-align:center;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;
margin-right:6px}
.met .badge{background:#2e8b57}.not .badge{background:#c0392b}.unknown .badge{background:#999}
ul.notes{color:#444;font-size:13px}code{background:#f3f3f3;padding:0 3px;border-radius:3px}`

/** The whole page; `lines` are ready-made text blocks (notes, interference) from report.mjs. */
export function html({ figs, goals, meta, notes, interference, paired }) {
  const charts = METRICS.map((m) => barChart(m, figs)).join('\n')
  const list = (ls) =>
    ls.length ? `<ul class="notes">${ls.map((l) => `<li>${esc(l.trim())}</li>`).join('')}</ul>` : '<p>None.</p>'
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lifeline bench</title>
<style>${CSS}</style></head><body>
<h1>Lifeline bench</h1>
<p class="meta">${esc(meta)}</p>
<h2>Goals</h2>${goalList(goals)}
<h2>Round trips alternating with raw WebSocket in the same page</h2>${list(paired)}
<h2>Figures</h2><div class="grid">${charts}</div>
<h2>What went wrong or looked odd</h2>${list(notes)}
<h2>Interference: time from <code>new Lifeline()</code> to first message</h2>${list(interference)}
<p class="meta">Every figure comes from one run of <code>npm run bench</code>: echo servers on loopback,
headless Chromium with no DevTools attached, all clients in the same run on the same machine.
Raw samples: <code>latest.json</code>.</p>
</body></html>
`
}

/** Height of the page in CSS pixels, for the PNG screenshot. */
export function pageHeight(noteCount, interferenceCount) {
  const chart = 8 + KIND_ORDER.length * GROUP + CASES.length * ROW + 70
  return 420 + Math.ceil(METRICS.length / 2) * (chart + 12) + (noteCount + interferenceCount) * 24 + 160
}
