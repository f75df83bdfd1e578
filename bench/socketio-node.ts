// One socket.io 4.8 node in its own process for bench/rooms-vs-socketio.ts, the counterpart of
// bench/cluster-node.ts: every socket joins one room on connection, and the parent asks over IPC
// (bench/room-nodes.ts) for room messages, `io.to(room).emit('m', text)`. With a Redis URL the
// nodes share rooms through @socket.io/redis-adapter (its default, non-sharded adapter: one
// PUBLISH per room message, every node PSUBSCRIBEd); `-`: in memory, one process.
//
//   Nodes.start('bench/socketio-node.ts', [redisUrl], 3)
import http from 'node:http'
import { Server } from 'socket.io'
import { createAdapter } from '@socket.io/redis-adapter'
import { createClient } from 'redis'
import { ROOM, serveAsks } from './room-nodes'

const [redisUrl] = process.argv.slice(2)
const server = http.createServer()
const io = new Server(server, { transports: ['websocket'] })
if (redisUrl != '-') {
  const pub = createClient({ url: redisUrl })
  const sub = pub.duplicate()
  for (const c of [pub, sub]) c.on('error', (e) => console.error('socket.io node', process.pid, e))
  await Promise.all([pub.connect(), sub.connect()])
  io.adapter(createAdapter(pub, sub))
}
// The Redis adapter does not catch a failed PUBLISH (a command timed out under load): as an app in
// production would, this node logs it and goes on instead of crashing.
process.on('unhandledRejection', (e) =>
  console.error('[socket.io node]', process.pid, (e as Error)?.constructor?.name, (e as Error)?.message),
)
let connections = 0
io.on('connection', (socket) => {
  socket.join(ROOM)
  connections++
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))

serveAsks({
  port: (server.address() as { port: number }).port,
  connections: () => connections,
  // emit() publishes to Redis and writes the local members synchronously; it says nothing of how many.
  send(data) {
    io.to(ROOM).emit('m', data)
    return undefined
  },
  close() {
    // The Redis clients go with the process (closing them here rejects the adapter's pending
    // subscriptions, unhandled).
    io.close()
    server.closeAllConnections()
  },
})
