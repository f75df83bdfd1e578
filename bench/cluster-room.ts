// A room broadcast over several nodes for bench/cluster-server.ts: `nodes` LifelineServer processes
// (bench/cluster-node.ts) on one redis-server, `sessions` raw WebSocket peers in this process spread
// over them round robin, every session in one room; then `ll.to(room).send()` from each node in
// turn. Per broadcast: the time from the send to the last session's delivery, Redis CPU (INFO cpu)
// and Redis memory (used_memory) while the message is unacknowledged and after every peer acked.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Nodes, roomText } from './room-nodes'
import { RoomPeers, type Trouble } from './room-peers'
import { redisCpuMs, settledMemory, usedMemory, type Info } from './redis-stats'

const here = dirname(fileURLToPath(import.meta.url))
/** How long a broadcast may take to reach every member before it is reported incomplete. */
const DEADLINE_MS = 60000
/** How long the nodes may take to count every peer that connected. */
const JOIN_MS = 120000

export interface RoomOptions {
  redisUrl: string
  /** Redis's INFO text for a section (the parent's own client). */
  info: Info
  sessions: number
  nodes: number
  broadcasts: number
  size: number
  /**
   * Peers that hold their room positions (`g`, PROTOCOL.md §6.5): the room's one log in Redis, room
   * runs by offset, nothing acknowledged. Without it, each member's own log (clients before it).
   */
  positions?: boolean
}

export interface Broadcast {
  node: number
  delivered: number
  /** From the send to the last session's delivery, ms. */
  lastDeliveryMs: number
  /** From the send to `send()` resolving on the sending node (every member's log written), ms. */
  resolvedMs: number
  /** Redis CPU (user + sys) from the send to the last delivery, and for the acks after it, ms. */
  redisCpuMs: number
  ackCpuMs: number
  /** used_memory after the last delivery, and once every peer acked, less what it was before, bytes. */
  memoryHeld: number
  memoryAfterAcks: number
  /** Every member had it within the deadline. */
  complete: boolean
}

export async function room(o: RoomOptions) {
  const nodes = await Nodes.start(join(here, 'cluster-node.ts'), [o.redisUrl], o.nodes)
  const peers = new RoomPeers('lifeline', nodes.ports, o.positions)
  try {
    const started = Date.now()
    await peers.connect(
      o.sessions,
      nodes.ports.map((_, i) => i),
    )
    const end = Date.now() + JOIN_MS
    while ((await nodes.connections()) < peers.peers.length && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100))
    const joined = await nodes.connections()
    const setupMs = Date.now() - started

    const used = () => usedMemory(o.info)
    const cpu = () => redisCpuMs(o.info)
    // Acked at once by every peer; then used_memory once it stops changing.
    const ackAll = () => {
      // Room messages from the room's log are not acknowledged (PROTOCOL.md §6.5).
      if (!o.positions) for (const p of peers.peers) p.sock.send('a' + p.received)
      return settledMemory(o.info)
    }
    const results: Broadcast[] = []
    const late: Array<{ broadcast: number; missingByNode: number[]; atDeadline: number }> = []
    // Broadcast 0 is a warm-up (and the proof that every member is in the room); it is not reported.
    for (let k = 0; k <= o.broadcasts; k++) {
      const node = k % o.nodes
      const before = await ackAll()
      const cpu0 = await cpu()
      const r = await nodes.ask(node, { cmd: 'send', data: roomText(k, o.size) })
      const complete = await peers.allArrived(k, DEADLINE_MS)
      const cpu1 = await cpu()
      const held = await used()
      if (!complete) late.push({ broadcast: k, missingByNode: peers.missing(k), atDeadline: peers.arrived[k] || 0 })
      const after = await ackAll()
      const cpu2 = await cpu()
      if (k == 0) continue
      results.push({
        node,
        delivered: r.delivered,
        lastDeliveryMs: Number((peers.lastArrival[k] || process.hrtime.bigint()) - BigInt(r.start)) / 1e6,
        resolvedMs: r.resolvedMs,
        redisCpuMs: cpu1 - cpu0,
        ackCpuMs: cpu2 - cpu1,
        memoryHeld: held - before,
        memoryAfterAcks: after - before,
        complete,
      })
    }
    // Those missing at the deadline that came later (with a later broadcast, or never).
    const incomplete = late.map((x) => ({ ...x, eventually: peers.arrived[x.broadcast] || 0 }))
    return {
      asked: o.sessions,
      connected: peers.peers.length,
      joined,
      setupMs,
      incomplete,
      // Before the peers are closed: what closed on its own.
      trouble: { ...peers.trouble } as Trouble,
      broadcasts: results,
    }
  } finally {
    peers.close()
    await nodes.stop()
  }
}
