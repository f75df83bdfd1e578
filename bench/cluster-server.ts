// LifelineServer in cluster mode on a real redis-server on loopback against the same server in
// memory, in one run (issue 17; docs/scaling.md "Figures", bench/README.md "Cluster"):
// - Redis memory per idle session as the server makes it (a polling session, confirmed, with the
//   request's headers) and per unacknowledged message;
// - the echo round trip, one message at a time, the reply sent from the message handler, on
//   websocket, stream and polling: in memory against one node over Redis (p50 / p99);
// - messages per second through one node: one WebSocket client sending in one loop, echoed, one
//   frame per message and batched as the client batches;
// - a room broadcast to 10,000 sessions over 3 node processes (bench/cluster-room.ts).
// Prints a table; writes bench/results/cluster.json.
//
//   node --import tsx bench/cluster-server.ts [--sessions 10000] [--broadcasts 5]
import http from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'
import { encode, Parser } from '../src/protocol/envelope'
import { listen, rtt, throughput, TRANSPORTS, type Percentiles, type Transport } from './cluster-peers'
import { room } from './cluster-room'
import { printTable } from './cluster-report'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf('--' + name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const SESSIONS = 2000
const MESSAGES = 10
/** Round trips per transport and server; HTTP ones take a few times longer each. */
const ROUND_TRIPS: Record<Transport, number> = { websocket: 2000, stream: 1000, polling: 1000 }
const BURST = { count: 20000, size: 100 }
const ROOM = { sessions: arg('sessions', 10000), nodes: 3, broadcasts: arg('broadcasts', 5), size: 100 }
const started = Date.now()
const redis = await startRedis()
const client = createClient({ url: redis.url })
await client.connect()
const info = (section: string) => client.info(section)
const used = async () => +/used_memory:(\d+)/.exec(await info('memory'))![1]
const version = /redis_version:(\S+)/.exec(await info('server'))![1]
console.log(`redis-server ${version}, appendfsync ${redis.fsync}, node ${process.version}`)

function request(port: number, method: string, query: string, body?: string[]): Promise<Array<string | Uint8Array>> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method, path: '/rt?' + query }, (res) => {
      const frames: Array<string | Uint8Array> = []
      const p = new Parser((f) => frames.push(f), 1 << 24)
      res.on('data', (c) => p.push(c))
      res.on('end', () => resolve(frames))
    })
    r.on('error', reject)
    r.end(body ? encode(body) : undefined)
  })
}

// --- Redis memory per idle session and per unacknowledged message ------------------------------
const node = await listen({ cluster: { redis: redis.url }, sessionTtl: 600000, maxSessionsPerAddress: 100000 })
const before = await used()
const sids: string[] = []
for (let i = 0; i < SESSIONS; i++) {
  const hello = (await request(node.port, 'GET', 'v=2&t=polling&ack=0&o=1'))[0] as string
  const sid = JSON.parse(hello.slice(1)).sid
  sids.push(sid)
  await request(node.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'p'])
}
while (node.ll.sessions.size < SESSIONS) await new Promise((r) => setTimeout(r, 10))
const idle = await used()
for (const sid of sids) {
  const s = node.ll.sessions.get(sid)!
  for (let i = 0; i < MESSAGES; i++) s.send('x'.repeat(100))
}
await new Promise((r) => setTimeout(r, 1000))
const full = await used()
const memory = { perIdleSession: (idle - before) / SESSIONS, perUnackedMessage: (full - idle) / SESSIONS / MESSAGES }

// --- Echo round trip per transport, and messages per second, in memory and over Redis ----------
// The cluster node is the one above, holding those sessions and messages, as a node in use would.
const inMemory = await listen({})
const roundTrips = {} as Record<Transport, { memory: Percentiles; redis: Percentiles }>
for (const t of TRANSPORTS) {
  roundTrips[t] = {
    memory: await rtt(inMemory.port, t, ROUND_TRIPS[t]),
    redis: await rtt(node.port, t, ROUND_TRIPS[t]),
  }
}
const rate = {
  memory: await throughput(inMemory.port, BURST.count, BURST.size, false),
  redis: await throughput(node.port, BURST.count, BURST.size, false),
}
const batchedRate = {
  memory: await throughput(inMemory.port, BURST.count, BURST.size, true),
  redis: await throughput(node.port, BURST.count, BURST.size, true),
}
for (const x of [node, inMemory]) x.stop()

// --- A room broadcast over 3 nodes --------------------------------------------------------------
const broadcast = await room({ redisUrl: redis.url, info, ...ROOM })

const results = {
  date: new Date().toISOString(),
  redis: version,
  fsync: redis.fsync,
  memory,
  roundTrips,
  burst: { ...BURST, perSecond: rate, batchedPerSecond: batchedRate },
  room: { ...ROOM, ...broadcast },
  elapsedMs: Date.now() - started,
}
printTable(results)
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'cluster.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
console.log(`Wrote ${out} (${(results.elapsedMs / 1000).toFixed(0)} s)`)
await client.quit()
await redis.remove()
process.exit(0)
