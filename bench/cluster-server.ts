// LifelineServer in cluster mode on a real redis-server on loopback (docs/scaling.md "Figures"):
// Redis memory per idle session as the server makes it (a polling session, confirmed, with the
// request's headers), per unacknowledged message, and the echo round trip over WebSocket on one
// node over Redis against the same server in memory (p50 / p99, one message at a time).
//
//   node --import tsx bench/cluster-server.ts
import http from 'node:http'
import WebSocket from 'ws'
import { createClient } from 'redis'
import { startRedis } from '../test/support/redis.mjs'
import { LifelineServer, type ServerOptions } from '../src/server/index'
import { encode, Parser } from '../src/protocol/envelope'

const SESSIONS = 2000
const MESSAGES = 10
const ROUND_TRIPS = 2000
const redis = await startRedis()
const client = createClient({ url: redis.url })
await client.connect()
const used = async () => +/used_memory:(\d+)/.exec(await client.info('memory'))![1]

async function listen(opts: ServerOptions) {
  const server = http.createServer()
  const ll = new LifelineServer({ server, path: '/rt', origins: '*', ...opts })
  ll.on('connection', (s) => s.on('message', (m) => s.send(m)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { ll, server, port: (server.address() as { port: number }).port }
}

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

const node = await listen({ cluster: { redis: redis.url }, sessionTtl: 600000 })
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
console.log(
  `Redis memory per idle session (polling, confirmed, headers kept): ${((idle - before) / SESSIONS).toFixed(0)} B`,
)
console.log(`per unacknowledged 100-byte message: ${((full - idle) / SESSIONS / MESSAGES).toFixed(1)} B`)

async function rtt(port: number): Promise<[number, number]> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rt?v=2&t=websocket&ack=0&o=1`)
  const frames: string[] = []
  let wake = () => {}
  ws.on('message', (d) => {
    frames.push(String(d))
    wake()
  })
  await new Promise((r) => ws.on('open', r))
  ws.send('u1')
  ws.send('s1')
  const times: number[] = []
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = process.hrtime.bigint()
    ws.send('m' + i)
    while (!frames.some((f) => f == 'm' + i || f.includes('"' + i + '"'))) await new Promise<void>((r) => (wake = r))
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
    frames.length = 0
  }
  ws.close()
  times.sort((a, b) => a - b)
  return [times[Math.floor(times.length / 2)], times[Math.floor(times.length * 0.99)]]
}
const memory = await listen({})
const [m50, m99] = await rtt(memory.port)
const [c50, c99] = await rtt(node.port)
console.log(
  `WebSocket echo RTT, ms: in memory p50 ${m50.toFixed(3)} p99 ${m99.toFixed(3)}; ` +
    `cluster (1 node, Redis always) p50 ${c50.toFixed(3)} p99 ${c99.toFixed(3)}; added p50 ${(c50 - m50).toFixed(3)}`,
)
for (const x of [node, memory]) {
  x.ll.close()
  x.server.closeAllConnections()
  x.server.close()
}
await client.quit()
await redis.remove()
process.exit(0)
