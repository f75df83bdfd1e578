// One system of bench/rooms-vs-socketio.ts measured once: Lifeline or socket.io, either over
// Redis (3 node processes holding the members round robin, a 4th holding none, one redis-server
// with `appendfsync always`) or in one process in memory. The room is built once; then each
// pattern publishes `count` room messages at `rate` a second from one node (bench/room-nodes.ts)
// and waits for every member to have every one, up to a deadline after the last send.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'
import { Nodes, type Sent, type Usage } from './room-nodes'
import { RoomPeers, type Kind, type Trouble } from './room-peers'
import { callsBetween, commandCalls, redisCpuMs, settledMemory, usedMemory, type Info } from './redis-stats'

const here = dirname(fileURLToPath(import.meta.url))
/** Node processes that hold the members in cluster mode; one more publishes without members. */
export const MEMBER_NODES = 3
/** How long the nodes may take to count every peer that connected. */
const JOIN_MS = 120000
/** Warm-up room messages (not reported) until one reaches every member, each waited for this long. */
const WARMUPS = 5
const WARMUP_MS = 20000
/** How long after the last send every member may take to have every message. */
export const DRAIN_MS = 30000
/**
 * Redis's idle CPU is read over this long before each pattern, for reference: one cycle of a
 * Lifeline node's session renewals (every 3 upkeep ticks, 5 s with the default `nodeLease`).
 */
const IDLE_MS = 5000
/** After a drain: how long the pending deliveries may take to count as no backlog. */
export const BACKLOG_MS = 1000

export interface Options {
  kind: Kind
  redis: boolean
  members: number
  rate: number
  seconds: number
  size: number
  /** Redis's `appendfsync`: `always` (what the tests run; the default) or `everysec`. */
  fsync?: 'always' | 'everysec'
  /** Told what the bench is doing, so that the run can stop it on its deadline. */
  track(stop: () => Promise<void>): () => void
}

export interface Pattern {
  name: string
  node: number
  count: number
  /** Per message, from its send to the last member's delivery, ms; Infinity if not everyone had it. */
  lastMs: number[]
  /** Messages every member had, deliveries made and missing (per node), at the deadline. */
  complete: number
  deliveries: number
  missingByNode: number[]
  /** From the start of the last send to the moment every message had reached every member, ms. */
  drainMs: number
  /** How late the publisher was against its pace at worst, and `send()` resolving, p50, ms. */
  maxLateMs: number
  resolvedMs: number[]
  errors: string[]
  /** Redis CPU over the pattern and idle per second before it, ms; used_memory growth, bytes. */
  redisCpuMs?: number
  redisIdleCpuMsPerS?: number
  /** How long the Redis CPU was counted: from just before the first send to the end of the drain. */
  windowMs: number
  redisMemory?: number
  /** The commands Redis ran over the pattern, most called first. */
  redisCalls?: Array<[string, number]>
  /** CPU of all the node processes over the pattern, ms. */
  nodeCpuMs: number
  /** CPU of the bench's own process (the peers) over the pattern, ms. */
  benchCpuMs: number
  trouble: Trouble
}

export interface SystemResult {
  kind: Kind
  redis: boolean
  members: number
  joined: number
  setupMs: number
  warmups: number
  /** used_memory growth per member once the room is built, bytes. */
  redisPerIdleMember?: number
  patterns: Pattern[]
  /** Peak RSS of each node process, bytes (the last is the publisher without members, over Redis). */
  maxRss: number[]
  error?: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
const cpuOf = (u: Usage[]) => sum(u.map((x) => x.cpuMs))

export async function measure(o: Options): Promise<SystemResult> {
  const result: SystemResult = {
    kind: o.kind,
    redis: o.redis,
    members: o.members,
    joined: 0,
    setupMs: 0,
    warmups: 0,
    patterns: [],
    maxRss: [],
  }
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined
  let client: ReturnType<typeof createClient> | undefined
  let nodes: Nodes | undefined
  let peers: RoomPeers | undefined
  const cleanup = async () => {
    peers?.close()
    await nodes?.stop()
    await client?.quit().catch(() => {})
    await redis?.remove()
  }
  const untrack = o.track(cleanup)
  try {
    let info: Info | undefined
    if (o.redis) {
      redis = await startRedis({ fsync: o.fsync || 'always' })
      client = createClient({ url: redis.url })
      await client.connect()
      info = (section) => client!.info(section)
    }
    const used0 = info && (await usedMemory(info))
    const script = join(here, o.kind == 'lifeline' ? 'cluster-node.ts' : 'socketio-node.ts')
    nodes = await Nodes.start(script, [redis ? redis.url : '-'], o.redis ? MEMBER_NODES + 1 : 1)
    const memberNodes = o.redis ? [0, 1, 2] : [0]
    // Lifeline's peers hold their room positions: the room's one log (PROTOCOL.md §6.5).
    peers = new RoomPeers(o.kind, nodes.ports, o.kind == 'lifeline')
    const started = Date.now()
    await peers.connect(o.members, memberNodes)
    const end = Date.now() + JOIN_MS
    while ((await nodes.connections()) < peers.peers.length && Date.now() < end) await sleep(100)
    result.joined = await nodes.connections()
    result.setupMs = Date.now() - started
    // A join is complete once a room message reaches the member: until one reaches them all.
    let k = 0
    for (let reached = false; !reached && k < WARMUPS; k++) {
      await nodes.publish(0, k, 1, 0, o.size)
      reached = await peers.allArrived(k, WARMUP_MS)
    }
    result.warmups = k
    if (info) {
      result.redisPerIdleMember = ((await settledMemory(info)) - used0!) / peers.peers.length
    }
    const patterns = o.redis
      ? [
          { name: 'publisher holds members', node: 0 },
          { name: 'publisher holds none', node: MEMBER_NODES },
        ]
      : [{ name: 'one process', node: 0 }]
    for (const p of patterns) {
      result.patterns.push(await pattern(o, nodes, peers, info, p.name, p.node, k))
      k += o.rate * o.seconds
    }
    result.maxRss = (await nodes.usage()).map((u) => u.maxRss)
  } catch (e) {
    result.error = String((e as Error).stack || e)
  } finally {
    untrack()
    await cleanup()
  }
  return result
}

async function pattern(
  o: Options,
  nodes: Nodes,
  peers: RoomPeers,
  info: Info | undefined,
  name: string,
  node: number,
  first: number,
): Promise<Pattern> {
  const count = Math.round(o.rate * o.seconds)
  const ks = Array.from({ length: count }, (_, i) => first + i)
  let idle: number | undefined
  if (info) {
    const c = await redisCpuMs(info)
    await sleep(IDLE_MS)
    idle = (((await redisCpuMs(info)) - c) / IDLE_MS) * 1000
  }
  const trouble0 = { ...peers.trouble }
  const mem0 = info && (await settledMemory(info))
  const calls0 = info && (await commandCalls(info))
  const cpu0 = info && (await redisCpuMs(info))
  const window0 = performance.now()
  const usage0 = await nodes.usage()
  const bench0 = process.cpuUsage()
  const sent: Sent[] = await nodes.publish(node, first, count, 1000 / o.rate, o.size)
  const lastStart = BigInt(sent[sent.length - 1].start)
  const everything = () => ks.every((k) => peers.arrived[k] == peers.peers.length)
  await peers.until(everything, DRAIN_MS)
  const drained = everything() ? process.hrtime.bigint() : undefined
  const cpu1 = info && (await redisCpuMs(info))
  const windowMs = performance.now() - window0
  const calls1 = info && (await commandCalls(info))
  const usage1 = await nodes.usage()
  const bench1 = process.cpuUsage(bench0)
  // Memory once the deliveries are done: what stays in Redis for the messages, not its buffers.
  const mem1 = info && (await settledMemory(info))
  const missing = ks.map((k) => peers.missing(k))
  return {
    name,
    node,
    count,
    lastMs: sent.map((s) =>
      peers.arrived[s.k] == peers.peers.length ? Number(peers.lastArrival[s.k] - BigInt(s.start)) / 1e6 : Infinity,
    ),
    complete: ks.filter((k) => peers.arrived[k] == peers.peers.length).length,
    deliveries: sum(ks.map((k) => peers.arrived[k] || 0)),
    missingByNode: nodes.ports.map((_, n) => sum(missing.map((m) => m[n]))),
    drainMs: drained ? Number(drained - lastStart) / 1e6 : Infinity,
    maxLateMs: Math.max(...sent.map((s) => s.lateMs)),
    resolvedMs: sent.map((s) => s.resolvedMs),
    errors: sent.filter((s) => s.error).map((s) => s.error!),
    redisCpuMs: info && cpu1! - cpu0!,
    redisIdleCpuMsPerS: idle,
    windowMs,
    redisCalls: info && callsBetween(calls0!, calls1!),
    redisMemory: info && mem1! - mem0!,
    nodeCpuMs: cpuOf(usage1) - cpuOf(usage0),
    benchCpuMs: (bench1.user + bench1.system) / 1000,
    trouble: peers.since(trouble0),
  }
}
