// The echo servers under test, in a Node process of their own so that their CPU time and memory
// are theirs alone. Spawned by the bench with an IPC channel and `--expose-gc`:
//
//   node --expose-gc bench/servers.mjs [ws,lifeline,engine.io,sockjs]
//
// Each server gets its own HTTP server on a loopback port; the ports go to the parent as
// `{ ports }`. The parent then asks `{ cmd: 'cpu' }` (process.cpuUsage()), `{ cmd: 'mem' }`
// (memory after two full GCs) or `{ cmd: 'sessions' }` (live sessions per server).
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { attach } from 'engine.io'
import sockjs from 'sockjs'
import { LifelineServer } from '../dist/server.mjs'

const sessions = {}

/** Plain `ws` echo: the baseline every other figure is divided by. */
function ws(server) {
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 })
  wss.on('connection', (c) => c.on('message', (data, isBinary) => c.send(data, { binary: isBinary })))
  sessions.ws = () => wss.clients.size
}

/** Lifeline with its defaults, except any origin (the page is on another port). */
function lifeline(server) {
  const ll = new LifelineServer({ server, path: '/rt', origins: '*' })
  ll.on('connection', (s) => s.on('message', (data) => s.send(data)))
  sessions.lifeline = () => ll.sessions.size
}

/**
 * engine.io with its defaults except: CORS for the page's origin, a body limit big enough for a
 * 20,000-message POST (the default 1 MB would close the session), and no gzip of polling
 * responses (Lifeline compresses nothing either; compression costs CPU on both ends).
 */
function engineio(server) {
  const eio = attach(server, {
    cors: { origin: '*' },
    maxHttpBufferSize: 64 << 20,
    httpCompression: false,
    perMessageDeflate: false,
  })
  eio.on('connection', (s) => s.on('message', (data) => s.send(data)))
  sessions['engine.io'] = () => eio.clientsCount
}

/** sockjs with its defaults (it answers CORS itself). */
function sockjsServer(server) {
  let open = 0
  const sj = sockjs.createServer({ prefix: '/sockjs', log: () => {} })
  sj.on('connection', (c) => {
    open++
    c.on('data', (data) => c.write(data))
    c.on('close', () => open--)
  })
  sj.installHandlers(server)
  sessions.sockjs = () => open
}

const kinds = { ws, lifeline, 'engine.io': engineio, sockjs: sockjsServer }

function listen(make) {
  const server = http.createServer()
  server.keepAliveTimeout = 30000
  make(server)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

const wanted = (process.argv[2] || Object.keys(kinds).join(',')).split(',')
const ports = {}
for (const k of wanted) ports[k] = await listen(kinds[k])

function memory() {
  for (let i = 0; i < 2; i++) globalThis.gc && globalThis.gc()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

process.on('message', (msg) => {
  if (msg.cmd == 'cpu') process.send({ id: msg.id, cpu: process.cpuUsage() })
  else if (msg.cmd == 'mem') process.send({ id: msg.id, mem: memory() })
  else if (msg.cmd == 'sessions')
    process.send({ id: msg.id, sessions: Object.fromEntries(Object.entries(sessions).map(([k, f]) => [k, f()])) })
})
// Ends with its parent: a bench that dies must not leave servers behind.
process.on('disconnect', () => process.exit(0))
process.send({ ports })
