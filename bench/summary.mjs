// From raw samples to the figures in the table: medians, percentiles, rates, and the ratios to raw
// WebSocket and to the best peer of the same kind of transport.
import { CASES, METRICS } from './cases.mjs'

const sorted = (a) => a.slice().sort((x, y) => x - y)
/** Nearest-rank percentile. */
export const percentile = (a, p) =>
  a && a.length ? sorted(a)[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)] : null
const median = (a) => percentile(a, 50)

/** Rate of the rounds that completed (median); failed rounds become notes and are counted. */
function rate(rounds, perMsg, label, notes) {
  const ok = rounds.filter((r) => r && !r.failure && r.got == r.n)
  rounds.forEach((r, i) => {
    if (!r || r.failure || r.got != r.n)
      notes.push(`${label} round ${i + 1}: ${r ? `got ${r.got} of ${r.n} echoes, ${r.failure}` : 'phase failed'}`)
    else if (!r.inOrder) notes.push(`${label} round ${i + 1}: echoes out of order`)
  })
  const failed = rounds.length - ok.length
  return {
    value: ok.length ? median(ok.map((r) => (r.got * perMsg) / (r.ms / 1000))) : null,
    failed: failed ? `${failed} of ${rounds.length} rounds failed` : '',
  }
}

/**
 * The figures of one case, from its page result and its idle-memory result. `partial` names the
 * figures that count only the rounds that completed.
 */
export function figures(page, mem, plan) {
  const notes = [...((page && page.errors) || [])]
  const small = (page && page.small && page.small.rounds) || []
  const big = (page && page.big && page.big.rounds) || []
  const done = small.filter((r) => r && !r.failure && r.got == r.n)
  const cpuUs = done.reduce((s, r) => s + r.cpuUserUs + r.cpuSystemUs, 0)
  const echoed = done.reduce((s, r) => s + r.got, 0)
  const smallRate = rate(small, 1, '100 B burst', notes)
  const bigRate = rate(big, plan.bigBytes / 1e6, '64 KB stream', notes)
  const bursts = page && page.bursts
  if (bursts && bursts.failure) notes.push(`1 MiB bursts: ${bursts.got} of ${bursts.n} rounds, ${bursts.failure}`)
  if (mem && mem.error) notes.push('memory: ' + mem.error)
  for (const e of new Set((page && page.events) || [])) notes.push('event: ' + e)
  const f = {
    connectMs: page && page.connect ? median(page.connect.ms) : null,
    rttP50: page && page.rtt ? median(page.rtt.ms) : null,
    rttP99: page && page.rtt ? percentile(page.rtt.ms, 99) : null,
    hRttP50: page && page.handler ? median(page.handler.ms) : null,
    hRttP99: page && page.handler ? percentile(page.handler.ms, 99) : null,
    smallRate: smallRate.value,
    bigRate: bigRate.value,
    burstRate: bursts && bursts.rounds.length ? median(bursts.rounds) : null,
    cpuPer10k: echoed ? (cpuUs / 1000 / echoed) * 10000 : null,
    memRss: !mem ? undefined : mem.error ? null : mem.rss / 1e6,
    memHeap: !mem ? undefined : mem.error ? null : mem.heapUsed / 1e6,
  }
  // Alternating with raw WebSocket in the same page (websocket kind only): see bench.js.
  if (page && page.paired)
    f.paired = { p50: median(page.paired.ms), rawP50: median(page.paired.rawMs), n: page.paired.ms.length }
  if (page && page.handlerPaired) {
    const h = page.handlerPaired
    f.handlerPaired = { p50: median(h.ms), rawP50: median(h.rawMs), n: h.ms.length }
  }
  if (page && page.burstsPaired) {
    const b = page.burstsPaired
    f.burstsPaired = { rate: median(b.rounds), rawRate: median(b.rawRounds), n: b.rounds.length }
    if (b.failure) notes.push(`1 MiB bursts with raw: ${b.got} of ${b.n} rounds, ${b.failure}`)
  }
  if (page && page.handler && page.handler.ms.length < plan.handlerRtts)
    notes.push(
      `reply-from-handler: ${page.handler.ms.length} round trips within the ${plan.handlerBoxMs / 1000} s time box`,
    )
  const partial = { smallRate: smallRate.failed, bigRate: bigRate.failed, cpuPer10k: smallRate.failed }
  if (page && page.rtt && page.rtt.ms.length < plan.rtts)
    notes.push(`round trip: ${page.rtt.ms.length} samples within the ${plan.rttBoxMs / 1000} s time box`)
  const seen = [...new Set((page && page.transports) || [])].filter(Boolean)
  return { ...f, partial, transports: seen, notes }
}

/** Which value wins: the smaller one for times, memory and CPU, the larger for rates. */
const better = (m, a, b) => (m.better == 'lower' ? a <= b : a >= b)

/** Best peer (not Lifeline, not raw) of `kind` for metric `m`: `{ name, value }` or null. */
export function bestPeer(figs, kind, m) {
  let best = null
  for (const c of CASES) {
    const v = figs[c.name] && figs[c.name][m.key]
    if (c.lib != 'peer' || c.kind != kind || v == null) continue
    if (!best || better(m, v, best.value)) best = { name: c.name, label: c.label, value: v }
  }
  return best
}

/** Rows of the table: per metric, per case, value and both ratios (plain quotients, this ÷ that). */
export function rows(figs) {
  const out = []
  for (const m of METRICS) {
    const raw = figs.raw && figs.raw[m.key]
    for (const c of CASES.filter((c) => figs[c.name])) {
      const v = figs[c.name][m.key]
      const peer = bestPeer(figs, c.kind, m)
      out.push({
        metric: m,
        case: c,
        value: v,
        partial: figs[c.name].partial[m.key] || '',
        vsRaw: v != null && raw ? v / raw : null,
        peer: c.lib == 'peer' ? null : peer,
        vsPeer: c.lib != 'peer' && v != null && peer && peer.value ? v / peer.value : null,
      })
    }
  }
  return out
}

/** The goals the issue states, judged from the numbers only. */
export function goals(figs) {
  const f = (name, key) => figs[name] && figs[name][key]
  const ratio = (a, b) => (a != null && b ? a / b : null)
  const peer = (kind) =>
    bestPeer(
      figs,
      kind,
      METRICS.find((m) => m.key == 'smallRate'),
    ) || { label: 'not measured' }
  const partial = (name, key) => (figs[name] && figs[name].partial[key] ? ` (${name}: ${figs[name].partial[key]})` : '')
  const pair = f('lifeline-websocket', 'paired')
  const pairedRatio = pair ? ratio(pair.p50, pair.rawP50) : null
  const sep = ratio(f('lifeline-websocket', 'rttP50'), f('raw', 'rttP50'))
  const list = [
    [
      'Lifeline websocket 100 B msgs/s >= 1.0x raw WebSocket',
      ratio(f('lifeline-websocket', 'smallRate'), f('raw', 'smallRate')),
      (r) => r >= 1.0,
      (r) => r.toFixed(2) + 'x',
      partial('lifeline-websocket', 'smallRate'),
    ],
    [
      'Lifeline websocket 64 KB MB/s >= 0.9x raw WebSocket',
      ratio(f('lifeline-websocket', 'bigRate'), f('raw', 'bigRate')),
      (r) => r >= 0.9,
      (r) => r.toFixed(2) + 'x',
      partial('lifeline-websocket', 'bigRate'),
    ],
    [
      'Lifeline websocket round trip p50 within 10% of raw (paired in one page)',
      pairedRatio,
      (r) => r <= 1.1,
      (r) => r.toFixed(2) + 'x',
      `; in separate pages ${sep == null ? '-' : sep.toFixed(2) + 'x'}`,
    ],
    [
      'Lifeline stream round trip p50 <= 3 ms',
      f('lifeline-stream', 'rttP50'),
      (v) => v <= 3,
      (v) => v.toFixed(2) + ' ms',
    ],
    [
      'Lifeline polling round trip p50 <= 3 ms',
      f('lifeline-polling', 'rttP50'),
      (v) => v <= 3,
      (v) => v.toFixed(2) + ' ms',
    ],
    [
      `Lifeline stream msgs/s >= 2x best streaming peer (${peer('streaming').label})`,
      ratio(f('lifeline-stream', 'smallRate'), peer('streaming').value),
      (r) => r >= 2,
      (r) => r.toFixed(2) + 'x',
      partial('lifeline-stream', 'smallRate'),
    ],
    [
      `Lifeline polling msgs/s >= 2x best polling peer (${peer('polling').label})`,
      ratio(f('lifeline-polling', 'smallRate'), peer('polling').value),
      (r) => r >= 2,
      (r) => r.toFixed(2) + 'x',
      partial('lifeline-polling', 'smallRate'),
    ],
    ...handlerGoals(figs, f, ratio, partial),
  ]
  return list.map(([goal, v, ok, show, note = '']) => ({
    goal,
    value: v,
    shown: (v == null ? 'no figure' : show(v)) + note,
    met: v == null ? null : ok(v),
  }))
}

/** Issue 19's goals, on the reply-from-handler figures: the HTTP round trip at its floor, big WebSocket messages. */
function handlerGoals(figs, f, ratio, partial) {
  const eio = f('eio-polling', 'hRttP50')
  const hp = f('lifeline-websocket', 'handlerPaired')
  const apart = ratio(f('lifeline-websocket', 'hRttP50'), f('raw', 'hRttP50'))
  const x = (r) => r.toFixed(2) + 'x'
  const bp = (name) => {
    const b = f(name, 'burstsPaired')
    return b ? ratio(b.rate, b.rawRate) : null
  }
  const p95 = [(r) => r >= 0.95, x]
  const atLeast95 = (what, name, key) => [
    what + ' >= 0.95x raw WebSocket',
    ratio(f(name, key), f('raw', key)),
    ...p95,
    partial(name, key),
  ]
  const ms = (v) => v.toFixed(2) + ' ms'
  const vsEio = (name) => [
    `Lifeline ${name.split('-')[1]} reply-from-handler p50 <= 0.5x engine.io polling's`,
    ratio(f(name, 'hRttP50'), eio),
    (r) => r <= 0.5,
    x,
  ]
  return [
    [
      'Lifeline stream reply-from-handler round trip p50 <= 1.5 ms',
      f('lifeline-stream', 'hRttP50'),
      (v) => v <= 1.5,
      ms,
    ],
    [
      'Lifeline polling reply-from-handler round trip p50 <= 2.5 ms',
      f('lifeline-polling', 'hRttP50'),
      (v) => v <= 2.5,
      ms,
    ],
    vsEio('lifeline-stream'),
    vsEio('lifeline-polling'),
    [
      'Lifeline polling 100 B msgs/s >= 2x engine.io polling',
      ratio(f('lifeline-polling', 'smallRate'), f('eio-polling', 'smallRate')),
      (r) => r >= 2,
      x,
      partial('lifeline-polling', 'smallRate'),
    ],
    atLeast95('Lifeline websocket 64 KB MB/s', 'lifeline-websocket', 'bigRate'),
    atLeast95(
      'Lifeline websocket, send(data, { transfer: true }), 64 KB MB/s',
      'lifeline-websocket-transfer',
      'bigRate',
    ),
    atLeast95('Lifeline websocket 1 MiB as 16 x 64 KiB', 'lifeline-websocket', 'burstRate'),
    atLeast95('Lifeline websocket, transfer, 1 MiB as 16 x 64 KiB', 'lifeline-websocket-transfer', 'burstRate'),
    [
      'Lifeline websocket 1 MiB bursts >= 0.95x raw WebSocket, alternating in one page',
      bp('lifeline-websocket'),
      ...p95,
    ],
    [
      'Lifeline websocket, transfer, 1 MiB bursts >= 0.95x raw WebSocket, alternating in one page',
      bp('lifeline-websocket-transfer'),
      ...p95,
    ],
    [
      'Lifeline websocket reply-from-handler p50 within 10% of raw (alternating in one page)',
      hp ? ratio(hp.p50, hp.rawP50) : null,
      (r) => r <= 1.1,
      x,
      `; in separate pages ${apart == null ? '-' : x(apart)}`,
    ],
  ]
}
