// Simulated clients for the soak: Lifeline's real client (dist/lifeline.mjs) in Node, with `ws`
// and Node's fetch, each with one fixed transport. Spawned by bench/soak.mjs:
//
//   node bench/soak-clients.mjs '<options json>'     { port, counts: { websocket, stream, polling }, ... }
//
// Opens its clients `batch` at a time, then tells the parent `{ ready }`. Each client checks that
// broadcasts (`b<n> <ms>`) arrive numbered one after the other, and sends `e<k> <ms>` every
// `echoMin`-`echoMax` s (jittered) expecting it back within `echoTimeout` s. A session is lost on
// the first of: `close`, `reset`, a broadcast gap or duplicate, an echo missing or unexpected, or
// (at `finish`) not having the last broadcast. Reconnects that resume the session are counted, not lost.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { WebSocket } from 'ws'
import { Lifeline } from '../dist/lifeline.mjs'

const o = JSON.parse(process.argv[2])
const url = `http://127.0.0.1:${o.port}/rt`
const batch = o.batch || 100
const echoMin = (o.echoMin || 10) * 1000
const echoMax = (o.echoMax || 30) * 1000
const echoTimeout = (o.echoTimeout || 15) * 1000
const openTimeout = (o.openTimeout || 60) * 1000

const bump = (obj, k) => (obj[k] = (obj[k] || 0) + 1)
/** Per transport, milliseconds → count: exact at 1 ms, merged and read by the parent. */
const hist = () => ({ websocket: {}, stream: {}, polling: {} })
const record = (h, t, ms) => bump(h[t], Math.max(0, Math.round(ms)))

const clients = []
// `echoesLate`: echoes counted missing (their session lost) that still came back, the latest after
// `echoesLateMaxMs`; `echoesNeverBack`: those that had not come back when the run ended.
const count = {
  opened: {},
  failed: {},
  lost: {},
  lostBy: {},
  reconnects: {},
  connectRetries: {},
  errors: {},
  broadcasts: 0,
  echoes: 0,
  echoesLate: 0,
  echoesLateMaxMs: 0,
  echoesNeverBack: 0,
}
const lat = { open: hist(), broadcast: hist(), echo: hist() }
const examples = []
let finishing = false

/** The first reason a session is lost is the one counted. */
function lose(c, why) {
  if (c.lost) return
  c.lost = why
  bump(count.lost, c.t)
  bump(count.lostBy, why)
  if (examples.length < 10) examples.push({ transport: c.t, why, sid: c.ll.sessionId, at: new Date().toISOString() })
}

function onMessage(c, data) {
  const sp = data.indexOf(' ')
  const n = +data.slice(1, sp)
  const ms = Date.now() - +data.slice(sp + 1)
  if (data[0] == 'b') {
    if (c.last && n != c.last + 1) lose(c, n <= c.last ? 'broadcast duplicate' : 'broadcast gap')
    c.last = n
    c.got++
    count.broadcasts++
    record(lat.broadcast, c.t, ms)
  } else if (data[0] == 'e') {
    // Too late is still lost, but says whether it was late or gone (a diagnostic, not a pardon).
    if (c.late.delete(n)) return (count.echoesLate++, (count.echoesLateMaxMs = Math.max(count.echoesLateMaxMs, ms)))
    if (!c.pending.delete(n)) return lose(c, 'echo unexpected')
    count.echoes++
    record(lat.echo, c.t, ms)
  }
}

function echoLater(c) {
  c.echoT = setTimeout(
    () => {
      if (finishing || c.ll.state == 'closed') return
      const k = ++c.k
      c.pending.set(k, Date.now())
      c.ll.send('e' + k + ' ' + Date.now())
      echoLater(c)
    },
    echoMin + Math.random() * (echoMax - echoMin),
  )
}

/** One client; resolves once it is open (or failed to open). */
function open(t) {
  const ll = new Lifeline(url, { transports: [t], storage: null, WebSocket, fetch })
  const c = { t, ll, last: 0, got: 0, k: 0, pending: new Map(), late: new Map(), lost: null, open: false }
  clients.push(c)
  const t0 = Date.now()
  ll.on('message', (e) => onMessage(c, e.data))
  ll.on('reset', (e) => lose(c, 'reset: ' + e.reason))
  ll.on('reconnecting', (e) => bump(c.open ? count.reconnects : count.connectRetries, e.cause))
  ll.on('error', (e) => bump(count.errors, e.error.code))
  return new Promise((resolve) => {
    const fail = (why) => {
      clearTimeout(timer)
      bump(count.failed, t + ': ' + why)
      ll.removeAllListeners()
      if (ll.state != 'closed') ll.close()
      resolve()
    }
    const timer = setTimeout(() => fail('not open within ' + openTimeout / 1000 + ' s'), openTimeout)
    ll.once('open', () => {
      clearTimeout(timer)
      c.open = true
      bump(count.opened, ll.transport == t ? t : t + ' as ' + ll.transport)
      record(lat.open, t, Date.now() - t0)
      ll.on('close', (e) => lose(c, 'close ' + e.code + (e.reason ? ' ' + e.reason : '')))
      echoLater(c)
      resolve()
    })
    ll.once('close', (e) => !c.open && fail('closed ' + e.code + ' ' + e.reason))
  })
}

/** Transports in the mix's proportions throughout, so every batch has them all. */
function order(counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  const given = Object.fromEntries(Object.keys(counts).map((k) => [k, 0]))
  const out = []
  for (let i = 0; i < total; i++) {
    const next = Object.keys(counts)
      .filter((k) => given[k] < counts[k])
      .sort((a, b) => given[a] / counts[a] - given[b] / counts[b])[0]
    given[next]++
    out.push(next)
  }
  return out
}

// Echoes not back in time: checked once a second.
setInterval(() => {
  const late = Date.now() - echoTimeout
  for (const c of clients)
    for (const [k, at] of c.pending) if (at < late) (c.pending.delete(k), c.late.set(k, at), lose(c, 'echo missing'))
}, 1000)

let eld = monitorEventLoopDelay({ resolution: 10 })
let cpuMark = process.cpuUsage()
let wallMark = performance.now()

/** Stop echoing, wait (up to `echoTimeout`) for broadcast `last` and outstanding echoes, then report. */
async function finish(last) {
  finishing = true
  for (const c of clients) clearTimeout(c.echoT)
  const live = clients.filter((c) => c.open && !c.lost)
  const behind = () => live.filter((c) => !c.lost && (c.last < last || c.pending.size))
  const end = Date.now() + echoTimeout
  const late = () => clients.some((c) => c.late.size)
  while ((behind().length || late()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200))
  for (const c of behind()) lose(c, c.pending.size ? 'echo missing' : c.got ? 'last broadcast missing' : 'no broadcast')
  for (const c of clients) count.echoesNeverBack += c.late.size + c.pending.size
  const cpu = process.cpuUsage(cpuMark)
  // The histogram holds the whole interval between its 10 ms samples: delay is what is beyond.
  const ms = (ns) => Math.max(0, Math.round((ns - 1e7) / 1e4) / 100)
  return {
    ...count,
    lat,
    examples,
    eld: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) },
    cpu: Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - wallMark)) * 1000) / 1000,
  }
}

process.on('message', async (msg) => {
  const reply = (body) => process.send({ id: msg.id, ...body })
  if (msg.cmd == 'hold') {
    eld.enable()
    eld.reset()
    cpuMark = process.cpuUsage()
    wallMark = performance.now()
    reply({})
  } else if (msg.cmd == 'status')
    reply({
      status: {
        lost: Object.values(count.lost).reduce((a, b) => a + b, 0),
        lostBy: count.lostBy,
        broadcasts: count.broadcasts,
        echoes: count.echoes,
      },
    })
  else if (msg.cmd == 'finish') reply({ result: await finish(msg.last) })
})
process.on('disconnect', () => process.exit(0))

const list = order(o.counts)
const t0 = Date.now()
for (let i = 0; i < list.length; i += batch) {
  await Promise.all(list.slice(i, i + batch).map(open))
  if ((i + batch) % 1000 == 0) process.send({ progress: i + batch })
}
process.send({ ready: { opened: count.opened, failed: count.failed, ms: Date.now() - t0 } })
