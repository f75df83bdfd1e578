// One seed of the randomized fault test (test/server/cluster/chaos.test.ts, issue 26), in a process
// of its own: a real Redis (appendfsync always), three node processes (cluster-node.mjs, echoing,
// reporting what their app was handed), each reaching Redis through a TCP relay of its own, behind
// HAProxy round robin with no stickiness. Raw-protocol peers on WebSocket, stream and polling
// exchange numbered messages both ways while the seed's faults strike at points of the flow's
// progress; the checker (chaos.ts) then judges the record. Prints the schedule, the story of each
// failing session and, last, `CHAOS <summary as JSON>`; then exits, whatever is still open (a run of
// several seeds in one process used to hang at its exit with handles left behind).
//
//   node --import tsx test/support/chaos-run.ts <seed>
import { createClient } from 'redis'
import { startRedis } from './redis.mjs'
import { startHaproxy } from './haproxy.mjs'
import { startNodes } from './nodes.mjs'
import { startRelay } from './relay.mjs'
import { peers, Received } from './peers'
import { check, parseHanded, schedule, type Fault, type FlowRecord, type OwnerRecord } from './chaos'
import { KEY_LAYOUT } from '../../src/server/cluster/store'

const LEASE = 2000
/** How long a peer waits for an answer before it tries again, ms. */
const ANSWER_MS = 1000
/** Messages each peer sends (and wants back). */
const N = 500
/** Messages each peer may send per second at most: the flow lasts long enough for its faults. */
const RATE = 60
/** Every flow has everything back within this of its start, ms, or its session is stuck. */
const FLOW_MS = 30000
const TRANSPORTS = ['websocket', 'stream', 'polling', 'websocket', 'stream', 'polling'] as const

const FLOW = { websocket: 'websocket', stream: 'streaming', polling: 'polling' } as const

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const describe = (f: Fault) =>
  `${f.kind}${f.node == undefined ? '' : ' n' + (f.node + 1)}${f.span ? ' ' + f.span : ''} ${f.ms} ms ` +
  `at peer ${f.peer + 1} ${Math.round(f.at * N)}/${N}`

const seed = Number(process.argv[2])
const faults = schedule(seed, { lease: LEASE, nodes: 3, peers: TRANSPORTS.length })
console.log(`chaos seed ${seed}: ${faults.map(describe).join('; ')}`)
try {
  const redis = await startRedis()
  const relays: Relay[] = []
  let nodes: Nodes | undefined
  let lb: Awaited<ReturnType<typeof startHaproxy>> | undefined
  try {
    for (let i = 0; i < 3; i++) relays.push(await startRelay(redis.port))
    nodes = await startNodes(3, (i: number) => ({
      LIFELINE_REDIS_URL: relays[i].url,
      LIFELINE_NODE_LEASE: String(LEASE),
      LIFELINE_TRACE: '1',
    }))
    lb = await startHaproxy(nodes.list.map((n) => n.port))
    await run(seed, faults, redis, relays, nodes, lb.port)
  } finally {
    await lb?.stop()
    await nodes?.stopAll()
    for (const r of relays) await r.close()
    await redis.remove()
  }
} catch (e) {
  console.log(`chaos seed ${seed} failed to run: ${(e as Error).stack || e}`)
  process.exit(1)
}
process.exit(0)

type Redis = Awaited<ReturnType<typeof startRedis>>
type Relay = Awaited<ReturnType<typeof startRelay>>
type Nodes = Awaited<ReturnType<typeof startNodes>>

/** Strike with `f` and undo it after its time: the node restarted, thawed or reconnected, Redis up. */
async function strike(f: Fault, redis: Redis, relays: Relay[], nodes: Nodes) {
  const i = f.node!
  if (f.kind == 'kill') await nodes.kill(i)
  else if (f.kind == 'freeze') nodes.freeze(i)
  else if (f.kind == 'redis') await redis.kill()
  else await relays[i].cut()
  await sleep(f.ms)
  if (f.kind == 'kill') await nodes.start(i)
  else if (f.kind == 'freeze') nodes.thaw(i)
  else if (f.kind == 'redis') await redis.start()
  else await relays[i].mend()
}

/** Each session's owner in Redis (docs/cluster-design.md §3) and whether it lives. */
async function owners(url: string, sids: string[]): Promise<OwnerRecord[]> {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  try {
    return await Promise.all(
      sids.map(async (sid) => {
        const [own, rcv, dlv] = await client.hmGet(`ll:${KEY_LAYOUT}:s:{${sid}}`, ['own', 'rcv', 'dlv'])
        const live = !!own && (await client.exists(`ll:${KEY_LAYOUT}:node:` + own)) == 1
        return { sid, own: own || '', live, waiting: +(rcv || 0) - +(dlv || 0) }
      }),
    )
  } finally {
    await client.quit()
  }
}

async function run(seed: number, faults: Fault[], redis: Redis, relays: Relay[], nodes: Nodes, port: number) {
  const t0 = Date.now()
  const stopAt = t0 + FLOW_MS
  // Uploads paced at RATE a second from the start (a peer catches up after a stall).
  const gate = () => Math.floor(((Date.now() - t0) * RATE) / 1000)
  const p = peers(port, { answerMs: ANSWER_MS, gate, stopAt: () => stopAt })
  const got = TRANSPORTS.map(() => new Received())
  const ended: number[] = TRANSPORTS.map(() => Infinity)
  const flows = TRANSPORTS.map((t, i) => p[FLOW[t]](N, got[i]).then(() => (ended[i] = Date.now())))
  let done = false
  const fired: string[] = []
  const striking = (async () => {
    for (const f of faults) {
      while (!done && got[f.peer].list.length < f.at * N) await sleep(20)
      if (done) return
      fired.push(`${describe(f)} at +${Date.now() - t0} ms`)
      await strike(f, redis, relays, nodes)
    }
  })()
  try {
    await Promise.all(flows)
  } finally {
    done = true
    await striking
  }
  const ms = Math.max(...ended) - t0
  // Every session with work waiting has a live owner within the lease plus a sweep period.
  await sleep(3 * LEASE)
  const flowRecords: FlowRecord[] = TRANSPORTS.map((transport, i) => ({
    transport,
    sid: got[i].sid,
    n: N,
    list: got[i].list,
    closed: got[i].closed,
    inTime: got[i].list.length >= N && ended[i] <= stopAt,
  }))
  const handed = nodes.list.flatMap((n) => parseHanded(n.log))
  const problems = check({
    flows: flowRecords,
    handed,
    owners: await owners(
      redis.url,
      got.map((g) => g.sid),
    ),
  })
  const logs = nodes.list.map((n) => n.log).join('')
  const count = (re: RegExp) => (logs.match(re) || []).length
  const summary = {
    seed,
    faults: faults.map(describe),
    fired,
    ms,
    takeovers: count(/took a session over$/gm),
    fenced: count(/was fenced$/gm),
    redelivered: handed.filter((h) => h.redelivered).length,
    resent: got.reduce((a, g) => a + g.resent, 0),
    problems,
  }
  // What the failing sessions' connections did, for the symptoms' story; then the summary, last.
  for (const g of got)
    if (problems.some((x) => x.includes(g.sid))) console.log(`chaos ${g.sid}:\n  ${g.events.join('\n  ')}`)
  console.log('CHAOS ' + JSON.stringify(summary))
}
