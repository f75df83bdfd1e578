// One Lifeline server process for the multi-node tests (started by test/support/nodes.mjs under
// tsx, so no build is needed): `src/server` at /rt on 127.0.0.1:PORT, echoing every message, and `GET /whoami`
// answering this node's name, so a test can see which backend a balancer picked. With
// LIFELINE_REDIS_URL it is a node of a cluster on that Redis (LIFELINE_NODE_LEASE: its lease, ms;
// LIFELINE_PREFIX: the key prefix), and says on stderr when it took a session over. With
// LIFELINE_TRACE=1 it also says on stderr each session its app is given (`<name> owns <sid> <time>`,
// on `connection`: made here or taken over) and each message it hands its app (`<name> handed <seq>
// <redelivered> <sid> <time>`; time: ms since the epoch, fractional; stderr is a pipe, written
// before the handler returns), and what the server logs at info and above.
//
//   LIFELINE_NODE_NAME=n1 LIFELINE_NODE_PORT=9001 node test/support/cluster-node.mjs
import http from 'node:http'
import { LifelineServer } from '../../src/server/index.ts'

const name = process.env.LIFELINE_NODE_NAME || 'node'
const port = +process.env.LIFELINE_NODE_PORT || 0
const server = http.createServer((req, res) => {
  // Cluster mode: `GET /publish?room=r&data=d` sends `d` to room `r` from this node; answers how many took it.
  if (req.url.startsWith('/publish?')) {
    const q = new URLSearchParams(req.url.split('?')[1])
    return ll
      .to(q.get('room'))
      .send(q.get('data'))
      .then((n) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(String(n)))
      .catch((e) => res.writeHead(500).end(String(e)))
  }
  if (req.url == '/whoami') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' })
    return res.end(name)
  }
  res.writeHead(404).end()
})
const redis = process.env.LIFELINE_REDIS_URL
const cluster = redis && {
  redis,
  nodeLease: +(process.env.LIFELINE_NODE_LEASE || 5000),
  prefix: process.env.LIFELINE_PREFIX || 'll:',
}
const trace = process.env.LIFELINE_TRACE == '1'
const now = () => (performance.timeOrigin + performance.now()).toFixed(3)
const say = (...args) => process.stderr.write(`${name} ${args.join(' ')}\n`)
const logger = trace ? { debug() {}, info: say, warn: say, error: say } : undefined
// Traced, its info lines too (the server's default level is warn): `joined again as node`, takeovers.
const ll = new LifelineServer({
  server,
  path: '/rt',
  origins: '*',
  logger,
  ...(trace ? { logLevel: 'info' } : {}),
  ...(cluster ? { cluster } : {}),
})
ll.on('connection', (session) => {
  // From now on this node's app has the session (made here, or taken over): the checker's epochs.
  if (trace) say('owns', session.id, now())
  if (trace)
    session.on('message', (data, binary, { seq, redelivered }) => say('handed', seq, redelivered, session.id, now()))
  if (session.takenOver) process.stderr.write(`${name} took a session over\n`)
  // 1012 'taken over' is local: this node was frozen or cut off, and another owns the session now.
  session.on('close', (code, reason) => reason == 'taken over' && process.stderr.write(`${name} was fenced\n`))
  // `join:<room>` joins a room (before the echo goes: the echo says it is in), for the room tests.
  session.on('message', (data) => typeof data == 'string' && data.startsWith('join:') && session.join(data.slice(5)))
  session.on('message', (data) => session.send(data))
})
server.listen(port, '127.0.0.1', () => {
  // The harness waits for this line: the port is bound and serving.
  process.stdout.write(`ready ${server.address().port} ${process.pid}\n`)
})
process.on('SIGTERM', () => {
  ll.close()
  server.close(() => process.exit(0))
  // Keep-alive connections would hold close() open; the process goes regardless.
  server.closeAllConnections()
})
