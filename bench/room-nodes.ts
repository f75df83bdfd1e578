// The node processes of the room benches (bench/cluster-room.ts, bench/rooms-vs-socketio.ts) and
// how the parent talks to them over IPC. A node (bench/cluster-node.ts, bench/socketio-node.ts)
// puts every connection in one room and answers asks by id: how many connected, its CPU and memory,
// one room message sent now, or `count` of them paced at a rate from here, so that the publisher's
// rate does not depend on the parent's event loop, busy reading the peers' sockets.
import { fork, type ChildProcess } from 'node:child_process'
import { nextMessage, stop } from './child.mjs'

/** The room every node puts its connections in. */
export const ROOM = 'bench-room'
/** How long a node process may take to listen. */
const START_MS = 30000
/** How long an ask may take, beyond what it asks for (a paced publish). */
const ASK_MS = 120000
/** How long a node has, after SIGTERM, to let its sessions go before it exits. */
const EXIT_MS = 200

/** The text of room message `k`: `b<k>:` and padding, `size` bytes in all; the peers read `k` back. */
export const roomText = (k: number, size: number) => ('b' + k + ':' + 'x'.repeat(size)).slice(0, size)

/** What a node process does for the asks; `send` resolves to how many members it reached, if it knows. */
export interface NodeApi {
  port: number
  connections(): number
  send(data: string): Promise<number | undefined> | undefined
  close(): void
}

type Ask =
  | { id: number; cmd: 'connections' }
  | { id: number; cmd: 'usage' }
  | { id: number; cmd: 'send'; data: string }
  | { id: number; cmd: 'publish'; first: number; count: number; intervalMs: number; size: number }

/** One send of a paced publish: when it started (CLOCK_MONOTONIC, ns) and how late against the pace. */
export interface Sent {
  k: number
  start: string
  lateMs: number
  delivered?: number
  resolvedMs: number
  error?: string
}

/** CPU (user + system) since the process started, its RSS now and its peak RSS, in ms and bytes. */
export interface Usage {
  cpuMs: number
  rss: number
  maxRss: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function sendOne(api: NodeApi, k: number, data: string, lateMs: number): Promise<Sent> {
  // process.hrtime is CLOCK_MONOTONIC, the same clock in every process of the machine: the parent
  // compares it with its peers' arrival times.
  const start = process.hrtime.bigint()
  const resolvedMs = () => Number(process.hrtime.bigint() - start) / 1e6
  try {
    const delivered = await api.send(data)
    return { k, start: String(start), lateMs, delivered, resolvedMs: resolvedMs() }
  } catch (e) {
    return { k, start: String(start), lateMs, resolvedMs: resolvedMs(), error: String(e) }
  }
}

/** `count` room messages from number `first`, one every `intervalMs` from now, not waiting for each other. */
async function publish(api: NodeApi, m: Extract<Ask, { cmd: 'publish' }>): Promise<Sent[]> {
  const t0 = performance.now()
  const pending: Promise<Sent>[] = []
  for (let i = 0; i < m.count; i++) {
    const due = t0 + i * m.intervalMs
    if (due > performance.now()) await sleep(due - performance.now())
    const k = m.first + i
    pending.push(sendOne(api, k, roomText(k, m.size), performance.now() - due))
  }
  return Promise.all(pending)
}

/** In the node process: answer the parent's asks, stop on SIGTERM, and tell the parent the port. */
export function serveAsks(api: NodeApi): void {
  process.on('message', async (m: Ask) => {
    if (m.cmd == 'connections') return process.send!({ id: m.id, connections: api.connections() })
    if (m.cmd == 'usage') {
      const u = process.resourceUsage()
      const usage: Usage = {
        cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000,
        rss: process.memoryUsage.rss(),
        maxRss: u.maxRSS * 1024,
      }
      return process.send!({ id: m.id, usage })
    }
    if (m.cmd == 'send') return process.send!({ id: m.id, ...(await sendOne(api, 0, m.data, 0)) })
    process.send!({ id: m.id, sent: await publish(api, m) })
  })
  // The parent gone (it crashed, or was killed): nothing is left to answer.
  process.on('disconnect', () => process.exit(0))
  process.on('SIGTERM', () => {
    api.close()
    // Give a cluster node a moment to let its sessions go in Redis; the bench removes Redis next.
    setTimeout(() => process.exit(0), EXIT_MS)
  })
  process.send!({ port: api.port })
}

/**
 * Node flags for every node process, from `LL_BENCH_NODE_ARGS` (space-separated): to profile the
 * nodes, `LL_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` (a profile per node, written
 * when it exits).
 */
const NODE_ARGS = (process.env.LL_BENCH_NODE_ARGS || '').split(' ').filter(Boolean)

/** In the parent: node processes started from `script` with `args`, stopped by their pids. */
export class Nodes {
  private _asked = 0

  private constructor(
    readonly children: ChildProcess[],
    readonly ports: number[],
  ) {}

  /**
   * Start `count` node processes one after the other. If one fails to start, those already
   * started are stopped before the error is thrown.
   */
  static async start(script: string, args: string[], count: number): Promise<Nodes> {
    const children: ChildProcess[] = []
    const ports: number[] = []
    try {
      for (let i = 0; i < count; i++) {
        const child = fork(script, args, { execArgv: ['--import', 'tsx', ...NODE_ARGS] })
        // A send to a node that died emits this; the ask then fails on the exit, and the bench says so.
        child.on('error', (e) => console.error(`node ${i} (pid ${child.pid}):`, e.message))
        children.push(child)
        ports.push((await nextMessage(child, (m: { port?: number }) => !!m.port, START_MS, 'node start')).port)
      }
    } catch (e) {
      await Promise.all(children.map((c) => stop(c)))
      throw e
    }
    return new Nodes(children, ports)
  }

  ask(node: number, m: object, ms = ASK_MS): Promise<any> {
    const id = ++this._asked
    const child = this.children[node]
    if (!child.connected) return Promise.reject(new Error(`node ${node} (pid ${child.pid}) has exited`))
    child.send({ id, ...m })
    return nextMessage(child, (r: { id?: number }) => r.id == id, ms, 'node ' + node)
  }

  /** Connections the nodes have put in the room, in all. */
  async connections(): Promise<number> {
    let n = 0
    for (let i = 0; i < this.children.length; i++) n += (await this.ask(i, { cmd: 'connections' })).connections
    return n
  }

  async usage(): Promise<Usage[]> {
    return Promise.all(this.children.map(async (_, i) => (await this.ask(i, { cmd: 'usage' })).usage as Usage))
  }

  /** Room messages `first`.. from node `node`, paced; resolves once every `send()` there resolved. */
  async publish(node: number, first: number, count: number, intervalMs: number, size: number): Promise<Sent[]> {
    const m = { cmd: 'publish', first, count, intervalMs, size }
    return (await this.ask(node, m, count * intervalMs + ASK_MS)).sent
  }

  /** SIGTERM to each, SIGKILL after 3 s; resolves once all have exited. */
  stop(): Promise<void> {
    return Promise.all(this.children.map((c) => stop(c))).then(() => {})
  }
}
