// Faults struck on a flow's progress, for the fault tests (chaos-run.ts, test/server/cluster/nodes.test.ts):
// each strikes once its peer has a share of its messages back, whatever the machine's speed, and is
// undone after its time; then the run is judged by the checker (chaos.ts) on what the peers got,
// what the nodes' apps were handed and given, and each session's owner in Redis. Mirrored by
// test/server/cluster/chaos-support.test.ts.
//
//   const run = flowsOf(lb.port, ['websocket', 'polling'], { n: 500, rate: 60, answerMs: 1000, ms: 30000 })
//   const striking = onProgress(faults, { n: 500, got: run.got, targets: { nodes, redis, relays } })
//   await run.all
//   const struck = await striking.stop()
//   const { problems } = await judge({ flows: run.records(), logs, redisUrl })
import { createClient } from 'redis'
import { check, parseHanded, parseOwning, type Fault, type FlowRecord, type OwnerRecord } from './chaos'
import { paced, peers, Received } from './peers'
import { KEY_LAYOUT } from '../../src/server/cluster/store'

/** What faults strike: node processes (nodes.mjs), Redis (redis.mjs), each node's relay to it (relay.mjs). */
export interface Targets {
  nodes: {
    kill(i: number): Promise<void>
    start(i: number): Promise<void>
    freeze(i: number): void
    thaw(i: number): void
  }
  redis?: { kill(): Promise<void>; start(): Promise<void> }
  relays?: Array<{ cut(): Promise<void>; mend(): Promise<void> }>
}

/** A fault as it struck: from when to when it was undone (ms since the epoch). */
export interface Struck {
  fault: Fault
  from: number
  to: number
}

/** How often a peer's progress is looked at, ms. */
const POLL_MS = 20

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Strike with `f` and undo it after its time: the node restarted, thawed or reconnected, Redis up. */
export async function strike(f: Fault, { nodes, redis, relays }: Targets): Promise<void> {
  const i = f.node!
  if (f.kind == 'kill') await nodes.kill(i)
  else if (f.kind == 'freeze') nodes.freeze(i)
  else if (f.kind == 'redis') await redis!.kill()
  else await relays![i].cut()
  await sleep(f.ms)
  if (f.kind == 'kill') await nodes.start(i)
  else if (f.kind == 'freeze') nodes.thaw(i)
  else if (f.kind == 'redis') await redis!.start()
  else await relays![i].mend()
}

/**
 * Strike `faults` in turn, each once peer `f.peer` has `f.at` of its `n` messages back in `got`
 * (`aim` may choose its node at that moment from the peer's session id, e.g. the session's owner),
 * until `stop()`, which waits for a fault under way to be undone and resolves to those that struck.
 */
export function onProgress(
  faults: Fault[],
  {
    n,
    got,
    targets,
    aim = (f) => f,
  }: { n: number; got: Received[]; targets: Targets; aim?: (f: Fault, sid: string) => Fault },
) {
  const struck: Struck[] = []
  let done = false
  const loop = (async () => {
    for (const planned of faults) {
      while (!done && got[planned.peer].list.length < planned.at * n) await sleep(POLL_MS)
      if (done) return
      const fault = aim(planned, got[planned.peer].sid)
      const from = Date.now()
      await strike(fault, targets)
      struck.push({ fault, from, to: Date.now() })
    }
  })()
  return {
    struck,
    stop: async () => {
      done = true
      await loop
      return struck
    },
  }
}

/** The node (index in `logs`, one per node) whose app was last given session `sid`: its owner; -1 if none. */
export function holder(logs: string[], sid: string): number {
  let found = -1
  let latest = -Infinity
  logs.forEach((log, i) => {
    for (const o of parseOwning(log)) if (o.sid == sid && o.t > latest) [found, latest] = [i, o.t]
  })
  return found
}

/** Each session's owner in Redis (docs/cluster-design.md §3) and whether it lives. */
export async function owners(url: string, sids: string[]): Promise<OwnerRecord[]> {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  try {
    return await Promise.all(
      sids.map(async (sid) => {
        const [own, rcv, dlv] = await client.hmGet(`ll:${KEY_LAYOUT}:s:{${sid}}`, ['owner', 'received', 'delivered'])
        const live = !!own && (await client.exists(`ll:${KEY_LAYOUT}:node:` + own)) == 1
        return { sid, own: own || '', live, waiting: +(rcv || 0) - +(dlv || 0) }
      }),
    )
  } finally {
    await client.quit()
  }
}

/** The peers' flow of each transport (peers.ts). */
const FLOW = { websocket: 'websocket', stream: 'streaming', polling: 'polling' } as const

/**
 * Raw peers through the balancer on 127.0.0.1:`port`, one per transport of `transports`, each
 * sending 1..n paced at `rate` a second (nothing waits for a fault) and wanting them back, given up
 * at `ms` from now. `records()`: what each session did, for the checker.
 */
export function flowsOf(
  port: number,
  transports: Array<keyof typeof FLOW>,
  { n, rate, answerMs, ms }: { n: number; rate: number; answerMs: number; ms: number },
) {
  const t0 = Date.now()
  const stopAt = t0 + ms
  const p = peers(port, { answerMs, gate: paced(rate, t0), stopAt: () => stopAt })
  const got = transports.map(() => new Received())
  const ended: number[] = transports.map(() => Infinity)
  const all = Promise.all(transports.map((t, i) => p[FLOW[t]](n, got[i]).then(() => (ended[i] = Date.now()))))
  const records = (): FlowRecord[] =>
    transports.map((transport, i) => ({
      transport,
      sid: got[i].sid,
      n,
      list: got[i].list,
      closed: got[i].closed,
      inTime: got[i].list.length >= n && ended[i] <= stopAt,
    }))
  return { t0, got, ended, all, records }
}

/**
 * Judge a run (nodes traced: LIFELINE_TRACE=1): the checker on the flows, what the nodes' apps
 * were handed and given (their stderr, `logs`), and the sessions' owners in Redis now.
 */
export async function judge({ flows, logs, redisUrl }: { flows: FlowRecord[]; logs: string[]; redisUrl: string }) {
  const handed = logs.flatMap((l) => parseHanded(l))
  const owning = logs.flatMap((l) => parseOwning(l))
  const now = await owners(
    redisUrl,
    flows.map((f) => f.sid),
  )
  return { problems: check({ flows, handed, owners: now, owning }), handed, owners: now }
}
