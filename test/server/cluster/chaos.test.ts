// The randomized fault test (issue 26): a real redis-server (appendfsync always), three node
// processes (test/support/cluster-node.mjs, echoing, reporting what their app was handed), each
// reaching Redis through a TCP relay of its own, behind HAProxy round robin with no stickiness.
// Raw-protocol peers on WebSocket, stream and polling exchange numbered messages both ways while a
// seed's schedule of faults (kill -9 and restart, SIGSTOP/SIGCONT around the lease, a Redis
// kill -9 and restart, a node's link to Redis cut) strikes at points of the flow's progress. The
// checker (test/support/chaos.ts) then asserts the invariants on the record.
//
//   LL_CHAOS_SEED=1234 npm test -- test/server/cluster/chaos.test.ts   replays seed 1234 (or 1,2,3)
//   LL_CHAOS_SEEDS=20 ...                                                 draws 20 new seeds
//
// A plain `npm test` runs seeds 2 and 5 (between them every kind of fault: kill -9, a freeze about
// as long as the lease and one longer, a Redis restart, a cut) and one new seed, about 25 s each.
// Seeds that drew a Redis restart used to fail (issue 26: a WebSocket session closed with `gap
// after N`, 20 replies lost on stream or polling, a session silent for good); seeds 1-10 failed 5
// of 10 before the fixes. A run of several seeds used to hang as the process exited: a redis-server
// killed -9 left its stderr pipe open in an AOF-rewrite child (test/support/redis.mjs closes it).
// The checker and the relay are tested in every run (chaos-support.test.ts).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createClient } from 'redis'
import { startRedis } from '../../support/redis.mjs'
import { startHaproxy } from '../../support/haproxy.mjs'
import { startNodes } from '../../support/nodes.mjs'
import { startRelay } from '../../support/relay.mjs'
import { peers, Received } from '../../support/peers'
import { check, parseHanded, schedule, type Fault, type FlowRecord, type OwnerRecord } from '../../support/chaos'

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

/** Seeds every run has: between them every kind of fault (see the schedule each prints). */
const FIXED = [2, 5]
const fresh = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 2 ** 31))
const seeds = process.env.LL_CHAOS_SEED
  ? process.env.LL_CHAOS_SEED.split(',').map(Number)
  : process.env.LL_CHAOS_SEEDS
    ? fresh(+process.env.LL_CHAOS_SEEDS)
    : [...FIXED, ...fresh(1)]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const describe = (f: Fault) =>
  `${f.kind}${f.node == undefined ? '' : ' n' + (f.node + 1)}${f.span ? ' ' + f.span : ''} ${f.ms} ms ` +
  `at peer ${f.peer + 1} ${Math.round(f.at * N)}/${N}`

// Whatever the seeds left open would hold the test process (and `npm test`): the peers' idle
// keep-alive sockets are closed; anything else is named (a 20-seed run was once seen to hang on exit).
after(() => {
  http.globalAgent.destroy()
  const left = process.getActiveResourcesInfo().filter((r) => r != 'TTYWrap')
  if (left.length) console.log('chaos: still open after the seeds: ' + left.join(', '))
  const handles = (process as unknown as { _getActiveHandles(): Array<Record<string, unknown>> })._getActiveHandles()
  for (const h of handles)
    console.log(
      'chaos: open',
      h.constructor?.name,
      h.spawnargs ?? '',
      h.remotePort ?? '',
      h.localPort ?? '',
      h.readyState ?? '',
    )
  // Whatever else holds the process must not hold `npm test`: the results are out by then.
  if (left.length) setTimeout(() => process.exit(), 10000).unref()
})

for (const seed of seeds)
  test(`chaos seed ${seed} (replay: LL_CHAOS_SEED=${seed})`, { timeout: 90000 }, async () => {
    const faults = schedule(seed, { lease: LEASE, nodes: 3, peers: TRANSPORTS.length })
    console.log(`chaos seed ${seed}: ${faults.map(describe).join('; ')}`)
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
  })

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
        const [own, rcv, dlv] = await client.hmGet(`ll:s:{${sid}}`, ['own', 'rcv', 'dlv'])
        const live = !!own && (await client.exists('ll:node:' + own)) == 1
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
  console.log('CHAOS ' + JSON.stringify(summary))
  // What the failing sessions' connections did, for the symptoms' story.
  for (const g of got)
    if (problems.some((x) => x.includes(g.sid))) console.log(`chaos ${g.sid}:\n  ${g.events.join('\n  ')}`)
  assert.deepEqual(problems, [], `seed ${seed} (replay: LL_CHAOS_SEED=${seed}): ${problems.join('\n')}`)
}
