// One LifelineServer node in its own process for the room broadcast of bench/cluster-room.ts:
// every session joins one room in the connection handler; the parent asks over IPC for a room
// message to be sent from here and for how many sessions this node has heard of.
//
//   fork('bench/cluster-node.ts', [redisUrl, room], { execArgv: ['--import', 'tsx'] })
import http from 'node:http'
import { LifelineServer } from '../src/server/index'

const [redisUrl, room] = process.argv.slice(2)
const server = http.createServer()
const ll = new LifelineServer({
  server,
  path: '/rt',
  origins: '*',
  cluster: { redis: redisUrl },
  // Every peer comes from 127.0.0.1, and the room is built one session at a time.
  maxSessionsPerAddress: 100000,
  sessionTtl: 600000,
})
let connections = 0
ll.on('connection', (s) => {
  s.join(room)
  connections++
})
ll.on('error', (e) => console.error('node', process.pid, e))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))

type Ask = { id: number; cmd: 'send'; data: string } | { id: number; cmd: 'connections' }
process.on('message', async (m: Ask) => {
  if (m.cmd == 'connections') return process.send!({ id: m.id, connections })
  // process.hrtime is CLOCK_MONOTONIC, the same clock in every process of the machine: the parent
  // compares it with its peers' arrival times.
  const start = process.hrtime.bigint()
  const delivered = await ll.to(room).send(m.data)
  process.send!({
    id: m.id,
    start: String(start),
    delivered,
    resolvedMs: Number(process.hrtime.bigint() - start) / 1e6,
  })
})
process.on('SIGTERM', () => {
  ll.close()
  server.closeAllConnections()
  server.close()
  // Give the cluster node a moment to let its sessions go in Redis; the bench removes Redis next.
  setTimeout(() => process.exit(0), 200)
})
process.send!({ port: (server.address() as { port: number }).port })
