// The cluster store's costs on a real redis-server on loopback (docs/cluster-design.md "Figures"):
// Redis memory per idle session and per unacknowledged message (MEMORY USAGE), the latency of
// each store operation (p50 / p99, one at a time), and a broadcast to a 10,000-member room two
// ways: one fan-out script, or a room stream that each member's owner copies from.
//
//   node --import tsx bench/cluster-store.ts
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'
import { fromNodeRedis, runScript, Script, type RedisLink } from '../src/server/cluster/redis'
import { ClusterStore } from '../src/server/cluster/store'

const out = (...a: unknown[]) => console.log(...a)
// `everysec` as the first argument: the same figures under the weaker fsync (kill -9 loses nothing
// either way; a machine crash may lose the last second).
const fsync = (process.argv[2] || 'always') as 'always' | 'everysec'
const redis = await startRedis({ fsync })
const client = createClient({ url: redis.url })
await client.connect()
const link = fromNodeRedis(client)
// Sessions live long enough for the 10,000-member rooms to be built one by one.
const store = new ClusterStore(link, {
  node: 'bench',
  maxQueueLength: 1000000,
  maxBufferedAmount: 1 << 30,
  sessionTtl: 3600000,
})
await store.lease.heartbeat()
const num = async (args: string[]) => Number(await link.command(args))
const info = async (section: string, field: string) => {
  const text = String(await link.command(['INFO', section]))
  return Number(new RegExp('^' + field + ':([\\d.]+)', 'm').exec(text)![1])
}
const sid = (i: number) => ('b' + i).padEnd(22, 'x')
// What a browser's request brings along (the session keeps the headers of the request that made it).
const HEADERS = {
  host: 'app.example.com',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  accept: '*/*',
  'accept-language': 'en-GB,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
  origin: 'https://app.example.com',
  cookie: 'session=' + 'c'.repeat(64),
}

out(
  `redis-server ${/redis_version:(\S+)/.exec(String(await link.command(['INFO', 'server'])))![1]}, ` +
    `appendfsync ${fsync}`,
)

// --- Memory per idle session ----------------------------------------------------------------
for (const [label, headers] of [
  ['no headers', {}],
  ['browser headers (' + JSON.stringify(HEADERS).length + ' B JSON)', HEADERS],
] as const) {
  await link.command(['FLUSHALL'])
  const N = 10000
  const before = await info('memory', 'used_memory')
  for (let i = 0; i < N; i++) {
    await store.createSession(sid(i), {
      origin: 'https://app.example.com',
      address: '203.0.113.7',
      reliable: true,
      headers,
    })
    await store.claim(sid(i))
  }
  const after = await info('memory', 'used_memory')
  const usage = await num(['MEMORY', 'USAGE', store.keys(sid(7))[0], 'SAMPLES', '0'])
  out(
    `idle session, ${label}: MEMORY USAGE ${usage} B (hash), ` +
      `used_memory delta ${Math.round((after - before) / N)} B/session over ${N}`,
  )
}

// --- Memory per unacknowledged message -----------------------------------------------------
for (const size of [10, 100, 1000]) {
  await link.command(['FLUSHALL'])
  await store.createSession(sid(1), { origin: '', address: '', reliable: true })
  const N = 10000
  const text = 'x'.repeat(size)
  for (let i = 0; i < N; i += 100) await store.appendOutgoing(sid(1), 1, Array(100).fill(text))
  const usage = await num(['MEMORY', 'USAGE', store.keys(sid(1))[1], 'SAMPLES', '0'])
  out(
    `unacknowledged ${size} B text message: ${(usage / N).toFixed(1)} B each in the log ` +
      `(${(usage / N - size).toFixed(1)} B overhead)`,
  )
}

// --- Latency per operation ------------------------------------------------------------------
await link.command(['FLUSHALL'])
const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
async function time(label: string, n: number, op: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await op(i + n) // warm up (script cache, JIT)
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await op(i)
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  out(`${label.padEnd(34)} p50 ${pct(ms, 0.5).toFixed(3)} ms   p99 ${pct(ms, 0.99).toFixed(3)} ms`)
}
const N = 3000
const msg = 'm'.repeat(100)
await time('PING (client round trip)', N, () => link.command(['PING']))
await time('createSession', N, (i) => store.createSession(sid(100000 + i), { origin: '', address: '', reliable: true }))
await store.createSession(sid(0), { origin: '', address: '', reliable: true })
await time('claim (already owner)', N, () => store.claim(sid(0)))
await time('appendOutgoing (1 x 100 B)', N, () => store.appendOutgoing(sid(0), 1, [msg]))
await time('appendOutgoing (10 x 100 B)', N, () => store.appendOutgoing(sid(0), 1, Array(10).fill(msg)))
const sent = +(await store.session(sid(0)))!.out
await time('readOutgoing (10 from the tail)', N, () => store.readOutgoing(sid(0), sent - 9, 10))
let acked = 0
await time('ackOutgoing (10 more)', N, () => store.ackOutgoing(sid(0), (acked += 10)))
let rcv = 0
await time('recordIncoming (1 x 100 B)', N, () => store.recordIncoming(sid(0), ++rcv, [msg]))
let dlv = 0
await time('deliveredIncoming (1)', N, () => store.deliveredIncoming(sid(0), 1, ++dlv))
await time('appendOutgoing + delivered (reply)', N, () =>
  store.recordIncoming(sid(0), ++rcv, [msg]).then(() => store.appendOutgoing(sid(0), 1, [msg], rcv)),
)
await time('readIncoming', N, () => store.readIncoming(sid(0), 1, 0, 10))
await time('activate (same kind again)', N, () => store.activate(sid(0), 'websocket'))
await time('touch', N, () => store.touch(sid(0)))
await time('join + leave', N, (i) =>
  store.rooms.join(sid(0), 1, 'room' + (i % 50)).then(() => store.rooms.leave(sid(0), 1, 'room' + (i % 50))),
)

// --- Broadcast to 10,000 members ------------------------------------------------------------
const MEMBERS = 10000
const PAYLOAD = 'p'.repeat(100)
async function roomOf(n: number) {
  await link.command(['FLUSHALL'])
  for (let i = 0; i < n; i++) {
    await store.createSession(sid(i), { origin: '', address: '', reliable: true })
    await store.activate(sid(i), 'websocket')
    await store.rooms.join(sid(i), 1, 'all')
  }
  await link.command(['CONFIG', 'RESETSTAT'])
}
async function redisCpuMs() {
  return ((await info('cpu', 'used_cpu_user')) + (await info('cpu', 'used_cpu_sys'))) * 1000
}
for (const chunk of [MEMBERS, 1000]) {
  await roomOf(MEMBERS)
  // Each script's round trip bounds how long it held Redis (and every other client) up.
  const holds: number[] = []
  const command = link.command
  link.command = async (args) => {
    const t0 = performance.now()
    try {
      return await command(args)
    } finally {
      if (/^EVAL/.test(String(args[0]))) holds.push(performance.now() - t0)
    }
  }
  const mem0 = await info('memory', 'used_memory')
  const cpu0 = await redisCpuMs()
  const t0 = performance.now()
  const r = await store.rooms.publish('all', [PAYLOAD], chunk)
  const wall = performance.now() - t0
  link.command = command
  const cpu = (await redisCpuMs()) - cpu0
  const stats = String(await link.command(['INFO', 'commandstats']))
  const busy =
    [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)].reduce((sum, m) => sum + +m[1], 0) / 1000
  const mem = (await info('memory', 'used_memory')) - mem0
  out(
    `fan-out in scripts of ${chunk}, ${r.delivered} members: ${wall.toFixed(1)} ms to the last log; ` +
      `Redis ${busy.toFixed(1)} ms ` +
      `in scripts, longest script round trip ${Math.max(...holds).toFixed(1)} ms; CPU ${cpu.toFixed(0)} ms; ` +
      `memory +${(mem / 1024).toFixed(0)} KiB (${(mem / MEMBERS).toFixed(1)} B/member)`,
  )
}
// The alternative: XADD the message to a room stream once; each member's owner copies it into
// the member's log with a script guarded by the member's cursor (exactly once per member, and
// one hash slot per call, so Redis Cluster runs it). Three owners copy in parallel, pipelined.
const PULL = new Script(
  'pull',
  `local cur = tonumber(redis.call('HGET', KEYS[1], 'rc') or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
local m = redis.call('HMGET', KEYS[1], 'out', 'ob')
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'out', tonumber(m[1]) + 1, 'ob', tonumber(m[2]) + #ARGV[2] - 1, 'rc', ARGV[1])
return 1`,
)
{
  await roomOf(MEMBERS)
  const owners: RedisLink[] = []
  for (let i = 0; i < 3; i++) {
    const c = createClient({ url: redis.url })
    await c.connect()
    owners.push(fromNodeRedis(c))
  }
  const mem0 = await info('memory', 'used_memory')
  const cpu0 = await redisCpuMs()
  const t0 = performance.now()
  const id = await link.command(['XADD', 'll:stream:{all}', '*', 'seq', '1', 'm', 't' + PAYLOAD])
  await Promise.all(
    owners.map(async (owner, k) => {
      const entries = (await owner.command(['XRANGE', 'll:stream:{all}', '-', '+'])) as unknown[]
      const calls = []
      for (let i = k; i < MEMBERS; i += 3) {
        const h = store.keys(sid(i))[0]
        calls.push(runScript(owner, PULL, [h, h + ':o'], ['1', 't' + PAYLOAD]))
      }
      await Promise.all(calls)
      return entries.length
    }),
  )
  const wall = performance.now() - t0
  const cpu = (await redisCpuMs()) - cpu0
  const mem = (await info('memory', 'used_memory')) - mem0
  out(
    `room stream + per-member copy (3 owners, pipelined), ${MEMBERS} members: ${wall.toFixed(1)} ms to the last log, ` +
      `Redis CPU ${cpu.toFixed(0)} ms, memory +${(mem / 1024).toFixed(0)} KiB ` +
      `(${(mem / MEMBERS).toFixed(1)} B/member); stream id ${id}`,
  )
  for (const o of owners) await o.quit()
}

await link.quit()
await redis.remove()
process.exit(0)
