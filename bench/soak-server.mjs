// The soak's server: one Node process (one core) running `LifelineServer` on loopback. Spawned
// by bench/soak.mjs with an IPC channel and `--expose-gc`:
//
//   node --expose-gc bench/soak-server.mjs '<options json>'
//
// Sends `{ port }` once listening. Broadcasts `b<n> <ms>` (a number, the send time) to every open
// session every `broadcastMs` while broadcasting is on, and echoes every message a client sends.
// Answers the parent's `{ cmd, id }`: `mem` (after two full GCs), `phase` (event-loop delay and
// CPU since the last phase, then starts a new one), `broadcast` (on/off), `stats`.
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { readFileSync } from 'node:fs'
import { LifelineServer } from '../dist/server.mjs'

const opts = JSON.parse(process.argv[2] || '{}')
const broadcastMs = opts.broadcastMs || 1000
const sessions = opts.sessions || 10000

const server = http.createServer()
// Node's default keep-alive timeout (5 s) closes idle sockets that a busy client may already be
// reusing for its next POST: the request fails and the transport reconnects. Browsers retry such
// a request themselves; Node's fetch under load did not (the first run's reconnect storm). Not
// 30 s as bench/servers.mjs: Node's fetch then keeps idle sockets 29 s, and two processes' pools
// of them took the server past its 20,000 open files.
server.keepAliveTimeout = Number(opts.keepAliveMs || 10000)
// Every client is 127.0.0.1: the per-address bound (default 1,000) would refuse all but the first
// thousand with 4029. The total bound (default 100,000) is left as it is.
const ll = new LifelineServer({ server, path: '/rt', maxSessionsPerAddress: sessions + 1000 })

const count = {
  connections: 0,
  open: 0,
  byTransport: {},
  closed: {},
  errors: {},
  requests: { upgrade: 0, stream: 0, polling: 0, post: 0 },
}
const bump = (o, k) => (o[k] = (o[k] || 0) + 1)

ll.on('connection', (s) => {
  count.connections++
  count.open++
  bump(count.byTransport, s.transport || 'none')
  s.on('message', (data) => s.send(data))
  s.on('error', (e) => bump(count.errors, e.code || e.message))
  s.on('close', (code, reason) => {
    count.open--
    bump(count.closed, code + (reason ? ' ' + reason : ''))
  })
})
ll.on('error', (e) => bump(count.errors, 'server: ' + e.message))

// Requests as the server sees them: more WebSocket upgrades or stream GETs than sessions means
// clients reconnected (streams are also reopened after `streamMaxBytes`, never reached here).
server.on('upgrade', () => count.requests.upgrade++)
server.on('request', (req) => {
  if (req.method == 'POST') count.requests.post++
  else if (/[?&]t=stream/.test(req.url)) count.requests.stream++
  else if (/[?&]t=polling/.test(req.url)) count.requests.polling++
})

let sent = 0
let deliveries = 0
let broadcasting = true
setInterval(() => {
  if (!broadcasting) return
  sent++
  deliveries += ll.broadcast('b' + sent + ' ' + Date.now())
}, broadcastMs)

// Event-loop delay per phase (connect, hold), sampled every 10 ms; the histogram holds the whole
// interval between samples, so 10 ms is taken off each figure. Memory sampled every second
// without forcing a GC, so the peak is what the process really held (kept every 5 s for the file).
let eld = monitorEventLoopDelay({ resolution: 10 })
eld.enable()
let cpuMark = process.cpuUsage()
let timeMark = performance.now()
const peak = { rss: 0, heapUsed: 0, heapTotal: 0 }
const samples = []
const started = Date.now()
let ticks = 0
setInterval(() => {
  const m = process.memoryUsage()
  // Where the memory was at the peak (read only when the peak moves: smaps is not free).
  if (m.rss > peak.rss) peak.resident = residency()
  peak.rss = Math.max(peak.rss, m.rss)
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed)
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal)
  if (ticks++ % 5 == 0)
    samples.push({
      t: Math.round((Date.now() - started) / 1000),
      sessions: ll.sessions.size,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
    })
}, 1000).unref()

/**
 * Where the resident memory is, from /proc/self/smaps (Linux; `{}` elsewhere): `file`, pages of
 * the node binary and libraries; `malloc`, the main allocator heap ([heap]); `v8`, V8's heap as
 * resident (physical) pages; `otherAnon`, every other anonymous mapping: the allocator's per-thread
 * arenas (V8's GC helper threads allocate there), thread stacks, buffers mapped on their own.
 */
function residency() {
  let smaps
  try {
    smaps = readFileSync('/proc/self/smaps', 'utf8')
  } catch {
    return {}
  }
  const kb = { file: 0, malloc: 0, anon: 0 }
  let kind = 'anon'
  for (const line of smaps.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) kind = head[1].startsWith('/') ? 'file' : head[1] == '[heap]' ? 'malloc' : 'anon'
    else if (line.startsWith('Rss:')) kb[kind] += parseInt(line.slice(4))
  }
  const v8 = getHeapStatistics().total_physical_size
  return { file: kb.file * 1024, malloc: kb.malloc * 1024, v8, otherAnon: kb.anon * 1024 - v8 }
}

/** After two full GCs; `heapTotal` is what V8 keeps committed, young generation (`newSpace`) included. */
function memory() {
  for (let i = 0; i < 2; i++) globalThis.gc && globalThis.gc()
  const m = process.memoryUsage()
  const space = (name) => getHeapSpaceStatistics().find((s) => s.space_name == name)
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    newSpace: space('new_space').space_size,
    oldSpace: space('old_space').space_size,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    resident: residency(),
  }
}

/** Event-loop delay and CPU (share of one core) since the last call; starts the next phase. */
function phase() {
  const ms = (ns) => Math.max(0, Math.round((ns - 1e7) / 1e4) / 100)
  const cpu = process.cpuUsage(cpuMark)
  const wall = performance.now() - timeMark
  const out = {
    eld: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean) },
    cpu: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 1000,
    seconds: Math.round(wall / 100) / 10,
  }
  eld.disable()
  eld = monitorEventLoopDelay({ resolution: 10 })
  eld.enable()
  cpuMark = process.cpuUsage()
  timeMark = performance.now()
  return out
}

const stats = () => ({ ...count, sessions: ll.sessions.size, broadcasts: sent, deliveries, peak, samples })

process.on('message', (msg) => {
  const reply = (body) => process.send({ id: msg.id, ...body })
  if (msg.cmd == 'mem') reply({ mem: memory() })
  else if (msg.cmd == 'phase') reply({ phase: phase() })
  else if (msg.cmd == 'broadcast') reply({ broadcasting: (broadcasting = msg.on), broadcasts: sent, deliveries })
  else if (msg.cmd == 'stats') reply({ stats: stats() })
  else if (msg.cmd == 'status') {
    const m = process.memoryUsage()
    reply({
      status: {
        sessions: ll.sessions.size,
        rss: m.rss,
        heapUsed: m.heapUsed,
        broadcasts: sent,
        eldP99: Math.max(0, eld.percentile(99) / 1e6 - 10),
        closed: count.connections - count.open,
      },
    })
  }
})
// Ends with its parent: a soak that dies must not leave a server behind.
process.on('disconnect', () => process.exit(0))
server.listen(0, '127.0.0.1', 4096, () => process.send({ port: server.address().port }))
