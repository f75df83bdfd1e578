// The randomized fault test's parts that need no process (test/server/cluster/chaos.test.ts runs
// them against real ones): a seeded schedule of faults placed on the flow's progress, and the
// checker of the invariants on what the run recorded. Mirrored by chaos-support.test.ts.
//
//   const faults = schedule(seed, { lease: 1000, nodes: 3, peers: 6 })
//   const problems = check({ flows, handed, owners })      // [] when every invariant held

import { prng } from './randomnet.mjs'

export type FaultKind = 'kill' | 'freeze' | 'redis' | 'cut'
export const KINDS: FaultKind[] = ['kill', 'freeze', 'redis', 'cut']

export interface Fault {
  kind: FaultKind
  /** The node it hits (0-based; none for a Redis restart). */
  node?: number
  /** It starts once peer `peer` has this share of its messages back (0..1)... */
  at: number
  /** ...this peer (0-based, of `peers`). */
  peer: number
  /** How long the node is down, frozen or cut, or Redis down, ms. */
  ms: number
  /** For a freeze: shorter than the lease, about equal, or longer. */
  span?: 'short' | 'equal' | 'long'
}

/** Faults for one seed: 2 to 4, each at its own point of the flow, in order. */
export function schedule(
  seed: number,
  { lease, nodes, peers }: { lease: number; nodes: number; peers: number },
): Fault[] {
  const r = prng(seed)
  const count = 2 + Math.floor(r() * 3)
  const between = (lo: number, hi: number) => lo + r() * (hi - lo)
  const faults: Fault[] = []
  for (let i = 0; i < count; i++) {
    const kind = KINDS[Math.floor(r() * KINDS.length)]
    // Spread over 10%..80% of the flow, each in its own slice, so each starts mid-flow.
    const at = 0.1 + (0.7 * (i + r() * 0.8)) / count
    const peer = Math.floor(r() * peers)
    const node = kind == 'redis' ? undefined : Math.floor(r() * nodes)
    if (kind == 'freeze') {
      const span = (['short', 'equal', 'long'] as const)[Math.floor(r() * 3)]
      const factor = { short: between(0.3, 0.7), equal: between(0.85, 1.15), long: between(1.6, 3) }[span]
      faults.push({ kind, node, at, peer, span, ms: Math.round(lease * factor) })
    } else {
      const ms = Math.round(
        kind == 'kill' ? between(100, 1500) : kind == 'redis' ? between(200, 1500) : between(300, 3000),
      )
      faults.push({ kind, node, at, peer, ms })
    }
  }
  return faults
}

/** What one raw peer's session did, as the test saw it. */
export interface FlowRecord {
  transport: string
  sid: string
  /** Messages it sent (1..n) and expected back. */
  n: number
  /** What came back, once each in seq order (after the protocol's dedupe by seq). */
  list: string[]
  /** The close frame, if the server ended the session. */
  closed: string
  /** Whether it had everything back before the deadline. */
  inTime: boolean
}

/** One message the app was handed, as a node reported it (`<node> handed <seq> <redelivered> <sid> <time>`). */
export interface Handed {
  node: string
  sid: string
  seq: number
  redelivered: boolean
  t: number
}

/** A node's app was given a session (`<node> owns <sid> <time>`): made there, or taken over. */
export interface Owning {
  node: string
  sid: string
  t: number
}

/** A session's ownership in Redis at the end. */
export interface OwnerRecord {
  sid: string
  /** The owner named in Redis ('' when none). */
  own: string
  /** Whether that owner's liveness key exists. */
  live: boolean
  /** Client messages kept but not handed to the app yet (`rcv - dlv`). */
  waiting: number
}

/** Parse the `handed` lines in a node's stderr (test/support/cluster-node.mjs with LIFELINE_TRACE=1). */
export function parseHanded(log: string): Handed[] {
  const out: Handed[] = []
  for (const m of log.matchAll(/^(\S+) handed (\d+) (true|false) (\S+) ([\d.]+)$/gm))
    out.push({ node: m[1], sid: m[4], seq: +m[2], redelivered: m[3] == 'true', t: +m[5] })
  return out
}

/** Parse the `owns` lines in a node's stderr (cluster-node.mjs with LIFELINE_TRACE=1: its `connection` events). */
export function parseOwning(log: string): Owning[] {
  const out: Owning[] = []
  for (const m of log.matchAll(/^(\S+) owns (\S+) ([\d.]+)$/gm)) out.push({ node: m[1], sid: m[2], t: +m[3] })
  return out
}

/** A few numbers of a list, for a message. */
const some = (xs: number[]) => (xs.length > 8 ? xs.slice(0, 8).join(',') + `… (${xs.length})` : xs.join(','))

/**
 * Every invariant, per session; the symptoms found ([] if none):
 * - its flow finished in time, not closed;
 * - the client got every echo once and in order: a reply committed twice shows as a text again at
 *   a new seq, since the protocol's dedupe is by seq;
 * - the app was handed every message, in order, after dedupe by seq (ordered by the nodes' clocks);
 * - no message handed again without `redelivered: true`;
 * - nothing handed by a node once another took the session over (`owning`, when given): a node
 *   that ran again after a freeze, or found itself cut off, was fenced and hands nothing;
 * - no session with work waiting left without a live owner.
 */
export function check({
  flows,
  handed,
  owners,
  owning = [],
}: {
  flows: FlowRecord[]
  handed: Handed[]
  owners: OwnerRecord[]
  owning?: Owning[]
}) {
  const problems: string[] = []
  for (const f of flows) {
    const at = `${f.transport} ${f.sid}`
    if (f.closed) problems.push(`${at}: closed by the server: ${f.closed}`)
    if (!f.inTime) problems.push(`${at}: stuck: ${f.list.length} of ${f.n} echoes back at the deadline`)
    const seen = new Set<string>()
    const twice: number[] = []
    const wrong: number[] = []
    f.list.forEach((m, i) => {
      if (seen.has(m)) twice.push(+m)
      else if (m != String(i + 1 - twice.length)) wrong.push(i + 1)
      seen.add(m)
    })
    if (twice.length)
      problems.push(`${at}: ${twice.length} echoes delivered to the client twice (at a new seq): ${some(twice)}`)
    if (wrong.length) {
      const i = wrong[0] - 1
      const near = f.list.slice(Math.max(0, i - 2), i + 3).join(',')
      problems.push(`${at}: echoes out of order or missing at client seq ${some(wrong)} (seq ${i - 1}.. got ${near})`)
    }

    const mine = handed.filter((h) => h.sid == f.sid).sort((a, b) => a.t - b.t)
    const first = new Map<number, Handed>()
    const unflagged: string[] = []
    const disorder: string[] = []
    let top = 0
    for (const h of mine) {
      const before = first.get(h.seq)
      if (before) {
        if (!h.redelivered) unflagged.push(`${h.seq} (${before.node}, then ${h.node})`)
        continue
      }
      first.set(h.seq, h)
      if (h.seq != top + 1) disorder.push(`${h.seq} after ${top} on ${h.node}`)
      top = Math.max(top, h.seq)
    }
    if (unflagged.length)
      problems.push(
        `${at}: ${unflagged.length} messages handed again without redelivered: ${unflagged.slice(0, 6).join('; ')}`,
      )
    if (disorder.length) problems.push(`${at}: app handed messages out of order: ${disorder.slice(0, 6).join('; ')}`)
    const fenced = handedFenced(
      mine,
      owning.filter((o) => o.sid == f.sid),
    )
    if (fenced.length)
      problems.push(
        `${at}: ${fenced.length} handed by a node after another took it over: ${fenced.slice(0, 6).join('; ')}`,
      )
    const never: number[] = []
    for (let s = 1; s <= f.n; s++) if (!first.has(s)) never.push(s)
    if (never.length) problems.push(`${at}: ${never.length} of ${f.n} messages never handed to the app: ${some(never)}`)
  }
  for (const o of owners)
    if (o.waiting > 0 && !o.live)
      problems.push(`${o.sid}: ${o.waiting} messages waiting and no live owner (owner ${o.own || 'none'})`)
  return problems
}

/**
 * Messages of one session (`mine`, in time order) handed by a node other than the last one given
 * the session before then (`owning`): what a fenced node handed.
 */
function handedFenced(mine: Handed[], owning: Owning[]): string[] {
  const epochs = [...owning].sort((a, b) => a.t - b.t)
  const out: string[] = []
  let k = -1
  for (const h of mine) {
    while (k + 1 < epochs.length && epochs[k + 1].t < h.t) k++
    const e = epochs[k]
    if (e && e.node != h.node) out.push(`${h.seq} by ${h.node}, ${Math.round(h.t - e.t)} ms after ${e.node} took it`)
  }
  return out
}
