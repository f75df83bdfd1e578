// The table bench/cluster-server.ts prints: ratios and differences from one run, cluster over in memory.
import type { Percentiles, Transport } from './cluster-peers'
import type { Broadcast } from './cluster-room'
import type { Trouble } from './room-peers'

type Rates = { memory: number; redis: number }

export interface ClusterResults {
  redis: string
  fsync: string
  memory: { perIdleSession: number; perUnackedMessage: number }
  roundTrips: Record<Transport, { memory: Percentiles; redis: Percentiles }>
  burst: { count: number; size: number; perSecond: Rates; batchedPerSecond: Rates }
  room: {
    sessions: number
    nodes: number
    size: number
    connected: number
    joined: number
    setupMs: number
    incomplete: Array<{ broadcast: number; missingByNode: number[]; atDeadline: number; eventually: number }>
    trouble: Trouble
    broadcasts: Broadcast[]
  }
}

/** The added latency the issue allows on loopback, p50, ms. */
const GOAL_MS = 1

const row = (cells: Array<string | number>, widths: number[]) =>
  cells.map((c, i) => (i ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ')

function table(head: string[], rows: Array<Array<string | number>>) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  console.log(row(head, widths))
  for (const r of rows) console.log(row(r, widths))
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (x: number) => x.toFixed(3)
const added = (x: number) => (x < 0 ? '' : '+') + ms(x)
const kb = (x: number) => (x / 1024).toFixed(0)

export function printTable(r: ClusterResults): void {
  console.log(`\nEcho round trip, one message at a time, reply from the message handler, ms (one node over Redis)`)
  const rtts = Object.entries(r.roundTrips).map(([t, { memory: m, redis: c }]) => [
    t,
    ms(m.p50),
    ms(m.p99),
    ms(c.p50),
    ms(c.p99),
    added(c.p50 - m.p50),
    added(c.p99 - m.p99),
    (c.p50 / m.p50).toFixed(1) + 'x',
    c.p50 - m.p50 <= GOAL_MS ? 'yes' : 'NO',
  ])
  table(
    ['transport', 'mem p50', 'mem p99', 'redis p50', 'redis p99', 'added p50', 'added p99', 'ratio', '<=+1ms'],
    rtts,
  )

  const b = r.burst
  console.log(`\nMessages per second through one node (${b.count} x ${b.size} B from one WebSocket, echoed)`)
  const rates = (name: string, x: Rates) => [
    name,
    x.memory.toFixed(0),
    x.redis.toFixed(0),
    (x.redis / x.memory).toFixed(3) + 'x',
  ]
  table(
    ['msg/s', 'in memory', 'over Redis', 'ratio'],
    [rates('one frame each', b.perSecond), rates('M batches, 16 KiB', b.batchedPerSecond)],
  )

  console.log(
    `\nRedis memory per idle session (polling, confirmed, headers kept): ${r.memory.perIdleSession.toFixed(0)} B;` +
      ` per unacknowledged 100-byte message: ${r.memory.perUnackedMessage.toFixed(1)} B`,
  )

  const room = r.room
  console.log(
    `\nRoom broadcast, ${room.size} B to ${room.joined} sessions (${room.connected} of ${room.sessions} connected)` +
      ` over ${room.nodes} node processes, one Redis; room built in ${(room.setupMs / 1000).toFixed(1)} s`,
  )
  for (const x of room.incomplete)
    console.log(
      `  INCOMPLETE: broadcast ${x.broadcast}${x.broadcast ? '' : ' (warm-up)'} had reached ${x.atDeadline} at the` +
        ` deadline, missing per node ${x.missingByNode.join(' / ')}; ${x.eventually} by the end of the run`,
    )
  const t = room.trouble
  if (t.gaps || t.duplicates || t.skipped || t.backwards || t.closeFrames || t.closed)
    console.log(`  TROUBLE: ${JSON.stringify(t)}`)
  const rows = room.broadcasts.map((x) => [
    'from node ' + x.node,
    x.delivered,
    x.lastDeliveryMs.toFixed(0),
    x.resolvedMs.toFixed(0),
    x.redisCpuMs.toFixed(0),
    x.ackCpuMs.toFixed(0),
    kb(x.memoryHeld),
    (x.memoryHeld / x.delivered).toFixed(0),
    kb(x.memoryAfterAcks),
  ])
  const all = room.broadcasts
  const med = (f: (x: Broadcast) => number) => median(all.map(f))
  rows.push([
    'median',
    med((x) => x.delivered),
    med((x) => x.lastDeliveryMs).toFixed(0),
    med((x) => x.resolvedMs).toFixed(0),
    med((x) => x.redisCpuMs).toFixed(0),
    med((x) => x.ackCpuMs).toFixed(0),
    kb(med((x) => x.memoryHeld)),
    med((x) => x.memoryHeld / x.delivered).toFixed(0),
    kb(med((x) => x.memoryAfterAcks)),
  ])
  const head = [
    'broadcast',
    'delivered',
    'last ms',
    'resolved ms',
    'Redis CPU ms',
    'acks CPU ms',
    'held KiB',
    'B/member',
    'acked KiB',
  ]
  table(head, rows)
}
