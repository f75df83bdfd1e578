// One LifelineServer node in its own process for the room benches (bench/cluster-room.ts,
// bench/rooms-vs-socketio.ts): every session joins one room in the connection handler; the parent
// asks over IPC (bench/room-nodes.ts) for room messages to be sent from here. `-` as the Redis URL:
// in memory, one process, no cluster.
//
//   Nodes.start('bench/cluster-node.ts', [redisUrl], 3)
import http from 'node:http'
import { LifelineServer } from '../src/server/index'
import { ROOM, serveAsks } from './room-nodes'

const [redisUrl] = process.argv.slice(2)
const server = http.createServer()
const ll = new LifelineServer({
  server,
  path: '/rt',
  origins: '*',
  ...(redisUrl == '-' ? {} : { cluster: { redis: redisUrl } }),
  // Every peer comes from 127.0.0.1. Otherwise the defaults (sessionTtl 60 s: each session's keys
  // renewed every 20 s, as in a deployment).
  maxSessionsPerAddress: 100000,
})
let connections = 0
ll.on('connection', (s) => {
  s.join(ROOM)
  connections++
})
ll.on('error', (e) => console.error('node', process.pid, e))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))

serveAsks({
  port: (server.address() as { port: number }).port,
  connections: () => connections,
  send: (data) => ll.to(ROOM).send(data),
  close() {
    ll.close()
    server.closeAllConnections()
    server.close()
  },
})
