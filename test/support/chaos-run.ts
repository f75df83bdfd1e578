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
import { startRedis } from './redis.mjs'
import { startHaproxy } from './haproxy.mjs'
import { startNodes } from './nodes.mjs'
import { startRelay } from './relay.mjs'
import { schedule, type Fault } from './chaos'
import { flowsOf, judge, onProgress } from './strike'

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

async function run(seed: number, faults: Fault[], redis: Redis, relays: Relay[], nodes: Nodes, port: number) {
  // Uploads paced at RATE a second from the start (a peer catches up after a stall).
  const { t0, got, ended, all, records } = flowsOf(port, [...TRANSPORTS], {
    n: N,
    rate: RATE,
    answerMs: ANSWER_MS,
    ms: FLOW_MS,
  })
  const striking = onProgress(faults, { n: N, got, targets: { nodes, redis, relays } })
  try {
    await all
  } finally {
    await striking.stop()
  }
  const fired = striking.struck.map((s) => `${describe(s.fault)} at +${s.from - t0} ms`)
  const ms = Math.max(...ended) - t0
  // Every session with work waiting has a live owner within the lease plus a sweep period.
  await sleep(3 * LEASE)
  const { problems, handed } = await judge({
    flows: records(),
    logs: nodes.list.map((n) => n.log),
    redisUrl: redis.url,
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
