// A room broadcast over several nodes for bench/cluster-server.ts: `nodes` LifelineServer processes
// (bench/cluster-node.ts) on one redis-server, `sessions` raw WebSocket peers in this process spread
// over them round robin, every session in one room; then `ll.to(room).send()` from each node in
// turn. Per broadcast: the time from the send to the last session's delivery, Redis CPU (INFO cpu)
// and Redis memory (used_memory) while the message is unacknowledged and after every peer acked.
import { fork, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { nextMessage, stop } from './child.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const ROOM = 'bench-room'
/** Peers connecting at once: enough to be quick, few enough not to time out a handshake. */
const CONNECTING = 50
/** How long a broadcast may take to reach every member before it is reported incomplete. */
const DEADLINE_MS = 60000

export interface RoomOptions {
  redisUrl: string
  /** Redis's INFO text for a section (the parent's own client). */
  info(section: string): Promise<string>
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

interface Peer {
  sock: WebSocket
  node: number
  /** The number the next message on this connection takes, and the highest delivered. */
  next: number
  received: number
  /** The broadcasts it got. */
  got: Set<number>
}

const field = (text: string, name: string) => Number(new RegExp('^' + name + ':([\\d.]+)', 'm').exec(text)![1])
const now = () => process.hrtime.bigint()

let asked = 0
function ask(child: ChildProcess, m: object, ms = 120000): Promise<any> {
  const id = ++asked
  child.send({ id, ...m })
  return nextMessage(child, (r: { id?: number }) => r.id == id, ms, 'cluster node')
}

export async function room(o: RoomOptions) {
  const nodes: ChildProcess[] = []
  const ports: number[] = []
  for (let i = 0; i < o.nodes; i++) {
    const child = fork(join(here, 'cluster-node.ts'), [o.redisUrl, ROOM], { execArgv: ['--import', 'tsx'] })
    nodes.push(child)
    ports.push((await nextMessage(child, (m: { port?: number }) => !!m.port, 30000, 'cluster node start')).port)
  }
  // Arrivals of each broadcast, counted as the peers' sockets deliver them.
  const arrived: number[] = []
  const lastArrival: bigint[] = []
  let wake = () => {}
  // What went wrong, if anything: the peers check the numbering (PROTOCOL.md §6.1) as a client would.
  const trouble = { gaps: 0, duplicates: 0, closeFrames: 0, closed: 0, firstClose: '' }
  const peers: Peer[] = []
  const take = (p: Peer, text: string) => {
    const seq = p.next++
    if (seq <= p.received) return void trouble.duplicates++
    // A room's first message comes at the offset the member joined at, not 1.
    if (seq > p.received + 1 && !(o.positions && !p.received)) trouble.gaps++
    p.received = seq
    const k = +text.slice(1, text.indexOf(':'))
    p.got.add(k)
    arrived[k] = (arrived[k] || 0) + 1
    lastArrival[k] = now()
    if (arrived[k] == peers.length) wake()
  }
  const connect = (node: number) =>
    new Promise<void>((resolve) => {
      const g = o.positions ? '&g=%7B%7D' : ''
      const sock = new WebSocket(`ws://127.0.0.1:${ports[node]}/rt?v=2&t=websocket&ack=0&o=1${g}`)
      const p: Peer = { sock, node, next: 1, received: 0, got: new Set() }
      sock.on('message', (d) => {
        const f = String(d)
        if (f[0] == 'm') take(p, f.slice(1))
        else if (f[0] == 'M') for (const t of JSON.parse(f.slice(1)) as string[]) take(p, t)
        else if (f[0] == 's' || f[0] == 'r') p.next = +f.slice(1).split(' ')[0]
        else if (f[0] == 'p') sock.send('q' + f.slice(1))
        else if (f[0] == 'c' || f[0] == 'e') trouble.firstClose ||= (trouble.closeFrames++, f)
      })
      sock.on('open', () => {
        sock.send('u1')
        sock.send('s1')
        peers.push(p)
        resolve()
      })
      sock.on('close', () => trouble.closed++)
      // A peer that cannot connect (descriptors, ports) is left out: the room is what connected.
      sock.on('error', () => resolve())
    })
  const started = Date.now()
  for (let i = 0; i < o.sessions; i += CONNECTING) {
    const batch = []
    for (let j = i; j < Math.min(o.sessions, i + CONNECTING); j++) batch.push(connect(j % o.nodes))
    await Promise.all(batch)
  }
  const connections = async () => {
    let n = 0
    for (const c of nodes) n += (await ask(c, { cmd: 'connections' })).connections
    return n
  }
  const end = Date.now() + 120000
  while ((await connections()) < peers.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
  const joined = await connections()
  const setupMs = Date.now() - started

  const used = async () => field(await o.info('memory'), 'used_memory')
  const cpu = async () => {
    const t = await o.info('cpu')
    return (field(t, 'used_cpu_sys') + field(t, 'used_cpu_user')) * 1000
  }
  const allArrived = (k: number, ms: number) =>
    new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms)
      wake = () => (clearTimeout(t), resolve(true))
      if (arrived[k] == peers.length) wake()
    })
  // Acked at once by every peer; then used_memory is read until it stops changing (at most 5 s).
  const ackAll = async () => {
    // Room messages from the room's log are not acknowledged (PROTOCOL.md §6.5).
    if (!o.positions) for (const p of peers) p.sock.send('a' + p.received)
    let last = await used()
    for (let same = 0, t = Date.now(); same < 3 && Date.now() - t < 5000;) {
      await new Promise((r) => setTimeout(r, 100))
      const m = await used()
      same = m == last ? same + 1 : 0
      last = m
    }
    return last
  }
  const pad = 'x'.repeat(o.size)
  const results: Broadcast[] = []
  const late: Array<{ broadcast: number; missingByNode: number[]; atDeadline: number }> = []
  // Broadcast 0 is a warm-up (and the proof that every member is in the room); it is not reported.
  for (let k = 0; k <= o.broadcasts; k++) {
    const node = k % o.nodes
    const before = await ackAll()
    const cpu0 = await cpu()
    const r = await ask(nodes[node], { cmd: 'send', data: ('b' + k + ':' + pad).slice(0, o.size) })
    const complete = await allArrived(k, DEADLINE_MS)
    const cpu1 = await cpu()
    const held = await used()
    if (!complete) {
      const missingByNode = ports.map((_, n) => peers.filter((p) => p.node == n && !p.got.has(k)).length)
      late.push({ broadcast: k, missingByNode, atDeadline: arrived[k] || 0 })
    }
    const after = await ackAll()
    const cpu2 = await cpu()
    if (k == 0) continue
    results.push({
      node,
      delivered: r.delivered,
      lastDeliveryMs: Number((lastArrival[k] || now()) - BigInt(r.start)) / 1e6,
      resolvedMs: r.resolvedMs,
      redisCpuMs: cpu1 - cpu0,
      ackCpuMs: cpu2 - cpu1,
      memoryHeld: held - before,
      memoryAfterAcks: after - before,
      complete,
    })
  }
  // Those missing at the deadline that came later (with a later broadcast, or never).
  const incomplete = late.map((x) => ({ ...x, eventually: arrived[x.broadcast] || 0 }))
  // Before the peers are closed here: what closed on its own.
  const troubles = { ...trouble }
  for (const p of peers) p.sock.terminate()
  await Promise.all(nodes.map((c) => stop(c)))
  return {
    asked: o.sessions,
    connected: peers.length,
    joined,
    setupMs,
    incomplete,
    trouble: troubles,
    broadcasts: results,
  }
}
