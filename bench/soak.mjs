#!/usr/bin/env node
// `npm run soak`: 10,000 Lifeline sessions on one server process, held for minutes with
// broadcasts, echoes and heartbeats; reports memory per session, event-loop delay and every
// session lost. Not part of `npm test`. Flags (or SOAK_<NAME> in the environment):
//
//   node bench/soak.mjs --sessions 500 --hold 30          a short run (after `npm run build`)
//   --mix 60,25,15         percent websocket,stream,polling     --procs 2        client processes
//   --broadcast-ms 1000    broadcast period                     --quiet 40       s without broadcasts mid-hold
//   --batch 100            clients opened at once per process   --echo 10-30     s between a client's messages
//   --echo-timeout 15      s for an echo to come back           --deadline S     the whole run, s
//   --server-flags "..."   Node flags for the server process (e.g. --max-semi-space-size=2)
//   --pin 1                the server (every thread) on CPU 0, the clients on the others (taskset)
//
// Progress goes to stderr, the table to stdout, everything to bench/results/soak.json.
// `node bench/soak.mjs --report` prints the table of the last bench/results/soak.json again.
import { fork, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nextMessage, stop } from './child.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const progress = (...a) => console.error(...a)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const TRANSPORTS = ['websocket', 'stream', 'polling']
const GOAL = { sessions: 10000, rss: 200e6 }

/** `--name value` over `SOAK_NAME` over the default. */
function flag(name, dflt) {
  const i = process.argv.indexOf('--' + name)
  const v = i > 0 ? process.argv[i + 1] : process.env['SOAK_' + name.toUpperCase().replace(/-/g, '_')]
  return v === undefined ? dflt : typeof dflt == 'number' ? Number(v) : v
}

const sessions = flag('sessions', 10000)
const hold = flag('hold', 180)
const mix = flag('mix', '60,25,15').split(',').map(Number)
const procs = flag('procs', 2)
const broadcastMs = flag('broadcast-ms', 1000)
const quiet = Math.min(flag('quiet', 40), Math.floor(hold / 3))
const batch = flag('batch', 100)
const [echoMin, echoMax] = flag('echo', '10-30').split('-').map(Number)
const echoTimeout = flag('echo-timeout', 15)
const connectBudget = Math.max(120, sessions / 20)
const deadline = flag('deadline', connectBudget + hold + 120)
const serverFlags = flag('server-flags', '').split(' ').filter(Boolean)
const pin = flag('pin', 0) && cpus().length > 1 ? { server: '0', clients: '1-' + (cpus().length - 1) } : null

/** Pin a process, every thread it has, to `list` (taskset from util-linux); throws if it cannot. */
function pinTo(child, list) {
  const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(child.pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error('taskset failed: ' + (r.error ? r.error.message : r.stderr))
}

/** Whole sessions per transport in the mix's proportions; the rounding remainder goes to the first. */
function split(n, weights) {
  const sum = weights.reduce((a, b) => a + b, 0)
  const out = weights.map((w) => Math.floor((n * w) / sum))
  out[0] += n - out.reduce((a, b) => a + b, 0)
  return out
}
const perTransport = Object.fromEntries(TRANSPORTS.map((t, i) => [t, split(sessions, mix)[i]]))
const perProc = Array.from({ length: procs }, (_, p) =>
  Object.fromEntries(TRANSPORTS.map((t) => [t, split(perTransport[t], Array(procs).fill(1))[p]])),
)

const children = []
function start(file, arg, execArgv = []) {
  const child = fork(join(here, file), [JSON.stringify(arg)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  let n = 0
  child.ask = (cmd, extra = {}, ms = 30000) => {
    const id = ++n
    const p = nextMessage(child, (m) => m.id == id, ms, file + ' ' + cmd)
    child.send({ cmd, id, ...extra })
    return p
  }
  return child
}
// No way out of this process leaves a child behind; each is stopped by its own pid.
process.on('exit', () => children.forEach((c) => c.exitCode == null && c.kill('SIGKILL')))
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130))
setTimeout(() => {
  progress(`soak: deadline of ${deadline} s passed; stopping`)
  process.exit(2)
}, deadline * 1000).unref()

const merge = (objs) =>
  objs.reduce((m, o) => (Object.entries(o || {}).forEach(([k, v]) => (m[k] = (m[k] || 0) + v)), m), {})
const total = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0)
/** p50/p99/max of a merged { ms: count } histogram. */
function pct(h) {
  const keys = Object.keys(h)
    .map(Number)
    .sort((a, b) => a - b)
  const n = total(h)
  const at = (q) =>
    keys.find(
      (
        (acc) => (k) =>
          (acc += h[k]) >= q * n
      )(0),
    )
  return n ? { n, p50: at(0.5), p99: at(0.99), max: keys[keys.length - 1] } : { n: 0 }
}

async function main() {
  const t0 = Date.now()
  const mix = TRANSPORTS.map((t) => t + ' ' + perTransport[t]).join(', ')
  const every = `broadcast every ${broadcastMs} ms`
  progress(`soak: ${sessions} sessions (${mix}) from ${procs} processes, hold ${hold} s, ${every}`)
  const server = start('soak-server.mjs', { sessions, broadcastMs }, ['--expose-gc', ...serverFlags])
  if (pin) pinTo(server, pin.server)
  const { port } = await nextMessage(server, (m) => m.port, 15000, 'soak server')
  const baseline = (await server.ask('mem')).mem
  await server.ask('phase')

  const tc = Date.now()
  const clients = perProc.map((counts, i) => {
    const c = start('soak-clients.mjs', { port, counts, batch, echoMin, echoMax, echoTimeout })
    if (pin) pinTo(c, pin.clients)
    c.on('message', (m) => m.progress && progress(`  clients ${i + 1}: ${m.progress} opened`))
    return c
  })
  const ready = await Promise.all(
    clients.map((c, i) => nextMessage(c, (m) => m.ready, connectBudget * 1000, 'clients ' + (i + 1))),
  )
  const connectMs = Date.now() - tc
  const connected = merge(ready.map((r) => r.ready.opened))
  const failed = merge(ready.map((r) => r.ready.failed))
  const failures = total(failed) ? ', ' + total(failed) + ' failed: ' + JSON.stringify(failed) : ''
  progress(`  ${total(connected)} open in ${(connectMs / 1000).toFixed(1)} s${failures}`)
  // The server counts a session once its client's first frame is in: wait for that, briefly.
  let status
  for (let end = Date.now() + 30000; Date.now() < end; await sleep(200))
    if ((status = (await server.ask('status')).status).sessions >= total(connected)) break
  const connectPhase = (await server.ask('phase')).phase
  const afterConnect = (await server.ask('mem')).mem
  // The forced GC's pause belongs to no phase.
  await server.ask('phase')
  await Promise.all(clients.map((c) => c.ask('hold')))

  // The hold: broadcasts, with a quiet stretch a third of the way in, longer than the 25 s
  // heartbeat interval, so heartbeats (pings, empty polls) carry the sessions for a while.
  const th = Date.now()
  const quietFrom = Math.floor(hold / 3)
  let quietNote = 'none'
  for (let s = 0; s < hold; s++) {
    if (quiet && s == quietFrom) await server.ask('broadcast', { on: false })
    if (quiet && s == quietFrom + quiet)
      (await server.ask('broadcast', { on: true }), (quietNote = `${quietFrom}-${quietFrom + quiet} s into the hold`))
    if (s && s % 30 == 0) {
      const st = (await server.ask('status')).status
      const lost = (await Promise.all(clients.map((c) => c.ask('status')))).reduce((a, r) => a + r.status.lost, 0)
      progress(
        `  hold ${s} s: ${st.sessions} sessions, RSS ${mb(st.rss)}, heap ${mb(st.heapUsed)}, ` +
          `loop delay p99 ${st.eldP99.toFixed(1)} ms, ${st.broadcasts} broadcasts, ${lost} lost`,
      )
    }
    await sleep(th + (s + 1) * 1000 - Date.now())
  }
  const { broadcasts, deliveries } = await server.ask('broadcast', { on: false })
  const holdPhase = (await server.ask('phase')).phase
  progress(`  hold done; ${broadcasts} broadcasts; waiting for the last ones and the echoes`)
  const results = (
    await Promise.all(clients.map((c) => c.ask('finish', { last: broadcasts }, (echoTimeout + 30) * 1000)))
  ).map((r) => r.result)
  const stats = (await server.ask('stats')).stats
  const atEnd = (await server.ask('mem')).mem
  await Promise.all(children.map(stop))
  return report({
    t0,
    serverSessions: status && status.sessions,
    connectMs,
    connected,
    failed,
    baseline,
    afterConnect,
    atEnd,
    connectPhase,
    holdPhase,
    stats,
    results,
    broadcasts,
    deliveries,
    quietNote,
  })
}

const mb = (b) => (b / 1e6).toFixed(1) + ' MB'
const kb = (b) => (b / 1e3).toFixed(1) + ' KB'

function report(r) {
  const n = total(r.connected)
  const lostBy = merge(r.results.map((x) => x.lostBy))
  const lostPer = merge(r.results.map((x) => x.lost))
  const lost = total(lostBy)
  const serverClosed = r.stats.closed
  const received = r.results.reduce((a, x) => a + x.broadcasts, 0)
  const lat = (k) => {
    const by = Object.fromEntries(TRANSPORTS.map((t) => [t, merge(r.results.map((x) => x.lat[k][t]))]))
    return { ...pct(merge(Object.values(by))), byTransport: Object.fromEntries(TRANSPORTS.map((t) => [t, pct(by[t])])) }
  }
  const out = {
    when: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0] && cpus()[0].model,
      node: process.version,
      note: 'other processes may have been running',
    },
    config: {
      sessions,
      perTransport,
      procs,
      hold,
      broadcastMs,
      quiet: r.quietNote,
      batch,
      echo: [echoMin, echoMax],
      echoTimeout,
      heartbeat: 'library defaults (25 s interval, 20 s timeout)',
      serverFlags,
      pinned: pin,
    },
    connect: {
      ms: r.connectMs,
      connected: r.connected,
      failed: r.failed,
      open: lat('open'),
      serverSessions: r.serverSessions,
    },
    memory: {
      baseline: r.baseline,
      afterConnect: r.afterConnect,
      atEnd: r.atEnd,
      peak: r.stats.peak,
      perSession: {
        rss: n && (r.stats.peak.rss - r.baseline.rss) / n,
        heapUsed: n && (r.stats.peak.heapUsed - r.baseline.heapUsed) / n,
        rssAfterGc: n && (r.afterConnect.rss - r.baseline.rss) / n,
      },
      samples: r.stats.samples,
    },
    eventLoopDelay: {
      connect: r.connectPhase,
      hold: r.holdPhase,
      clients: r.results.map((x) => ({ eld: x.eld, cpu: x.cpu })),
    },
    broadcasts: { sent: r.broadcasts, deliveriesQueued: r.deliveries, received, latency: lat('broadcast') },
    echoes: { received: r.results.reduce((a, x) => a + x.echoes, 0), roundTrip: lat('echo') },
    reconnects: {
      resumed: merge(r.results.map((x) => x.reconnects)),
      duringConnect: merge(r.results.map((x) => x.connectRetries)),
      serverRequests: r.stats.requests,
      clientErrors: merge(r.results.map((x) => x.errors)),
    },
    server: {
      sessionsAtEnd: r.stats.sessions,
      confirmed: r.stats.connections,
      byTransport: r.stats.byTransport,
      closed: serverClosed,
      errors: r.stats.errors,
    },
    lost: {
      total: lost,
      byTransport: lostPer,
      byReason: lostBy,
      echoesLate: r.results.reduce((a, x) => a + (x.echoesLate || 0), 0),
      echoesLateMaxMs: Math.max(0, ...r.results.map((x) => x.echoesLateMaxMs || 0)),
      echoesNeverBack: r.results.reduce((a, x) => a + (x.echoesNeverBack || 0), 0),
      examples: r.results.flatMap((x) => x.examples).slice(0, 10),
    },
  }
  out.goal = {
    sessions: n >= GOAL.sessions && total(r.failed) == 0,
    rssUnder200MB: r.stats.peak.rss < GOAL.rss,
    noneLost: lost == 0 && total(serverClosed) == 0,
  }
  out.goal.met = out.goal.sessions && out.goal.rssUnder200MB && out.goal.noneLost
  out.seconds = Math.round((Date.now() - r.t0) / 1000)
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results', 'soak.json'), JSON.stringify(out, null, 1) + '\n')
  console.log(table(out))
  console.log('Wrote bench/results/soak.json.')
}

function table(o) {
  const row = (label, f) => label.padEnd(18) + [...TRANSPORTS, 'total'].map((t) => String(f(t)).padStart(13)).join('')
  const tot = (obj) => (t) => (t == 'total' ? total(obj) : obj[t] || 0)
  const p = (l) => (t) => ((x) => (x.n ? x.p50 + ' / ' + x.p99 : '-'))(t == 'total' ? l : l.byTransport[t])
  const e = o.eventLoopDelay
  const m = o.memory
  const yes = (b) => (b ? 'yes' : 'NO')
  const pc = (x) => Math.round(x * 100) + '%'
  const where = (r) =>
    `V8 heap ${mb(r.v8)}, malloc ${mb(r.malloc)}, other anonymous ${mb(r.otherAnon)}, files ${mb(r.file)}`
  const q = (x) => (x.n ? `p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max} ms` : 'none')
  const flags = o.config.serverFlags && o.config.serverFlags.length ? '; server ' + o.config.serverFlags.join(' ') : ''
  const pinned = o.config.pinned
    ? `; server pinned to CPU ${o.config.pinned.server}, clients to ${o.config.pinned.clients}`
    : ''
  const neverConnected = total(o.connect.failed) ? '; never connected ' + JSON.stringify(o.connect.failed) : ''
  const late =
    o.lost.echoesLate || o.lost.echoesNeverBack
      ? `; of the echoes counted missing, ${o.lost.echoesLate} came back later ` +
        `(the latest after ${(o.lost.echoesLateMaxMs / 1000).toFixed(1)} s), ${o.lost.echoesNeverBack} never`
      : ''
  return [
    `soak: ${o.config.sessions} sessions, ${o.config.procs} client processes, hold ${o.config.hold} s, ` +
      `broadcast every ${o.config.broadcastMs} ms (quiet ${o.config.quiet}); ` +
      `${o.machine.cores} cores, ${o.machine.node}${flags}${pinned}`,
    row('', (t) => t),
    row('requested', tot(o.config.perTransport)),
    row('connected', tot(o.connect.connected)),
    row('lost', tot(o.lost.byTransport)),
    row('open ms p50 / p99', p(o.connect.open)),
    row('broadcast ms', p(o.broadcasts.latency)),
    row('echo ms', p(o.echoes.roundTrip)),
    `connect       ${(o.connect.ms / 1000).toFixed(1)} s for all; one client's open ${q(o.connect.open)}`,
    `server RSS    baseline ${mb(m.baseline.rss)}, after connect (GC) ${mb(m.afterConnect.rss)}, ` +
      `peak ${mb(m.peak.rss)}, per session ${kb(m.perSession.rss)} (peak − baseline) / sessions`,
    `server heap   baseline ${mb(m.baseline.heapUsed)}, after connect (GC) ${mb(m.afterConnect.heapUsed)}, ` +
      `peak ${mb(m.peak.heapUsed)}, per session ${kb(m.perSession.heapUsed)}`,
    ...(m.afterConnect.heapTotal
      ? [
          `heap kept     after connect (GC) ${mb(m.afterConnect.heapTotal)} committed ` +
            `(young generation ${mb(m.afterConnect.newSpace)}); at the end (GC) RSS ${mb(m.atEnd.rss)}, ` +
            `heap ${mb(m.atEnd.heapUsed)} used, ${mb(m.atEnd.heapTotal)} committed; ` +
            `peak committed ${mb(m.peak.heapTotal)}`,
        ]
      : []),
    ...(m.peak.resident && m.peak.resident.v8
      ? [`resident      at the peak ${where(m.peak.resident)}; after connect (GC) ${where(m.afterConnect.resident)}`]
      : []),
    `loop delay    hold p50 ${e.hold.eld.p50} ms, p99 ${e.hold.eld.p99} ms, max ${e.hold.eld.max} ms; ` +
      `connect p99 ${e.connect.eld.p99} ms, max ${e.connect.eld.max} ms`,
    `server CPU    hold ${pc(e.hold.cpu)} of one core, connect ${pc(e.connect.cpu)}; ` +
      `clients (hold) ${e.clients.map((c) => pc(c.cpu) + ', loop p99 ' + c.eld.p99 + ' ms').join('; ')}`,
    `broadcasts    ${o.broadcasts.sent} sent, ${o.broadcasts.deliveriesQueued} deliveries queued, ` +
      `${o.broadcasts.received} received; latency ${q(o.broadcasts.latency)}`,
    `echoes        ${o.echoes.received} back; round trip ${q(o.echoes.roundTrip)}`,
    `reconnects    ${total(o.reconnects.resumed)} after open ${JSON.stringify(o.reconnects.resumed)}, ` +
      `${total(o.reconnects.duringConnect)} while connecting; ` +
      `server closed ${total(o.server.closed)} ${JSON.stringify(o.server.closed)}`,
    `lost          ${o.lost.total} ${JSON.stringify(o.lost.byReason)}${neverConnected}${late}`,
    `goal          ${GOAL.sessions} sessions: ${yes(o.goal.sessions)}; ` +
      `peak RSS under 200 MB: ${yes(o.goal.rssUnder200MB)}; ` +
      `none lost: ${yes(o.goal.noneLost)}  => ${o.goal.met ? 'met' : 'NOT met'}`,
  ].join('\n')
}

// A completed run exits 0 whether or not the goal was met (the table says); a broken one, 2.
if (process.argv.includes('--report')) {
  console.log(table(JSON.parse(readFileSync(join(here, 'results', 'soak.json'), 'utf8'))))
  process.exit(0)
}
main().then(
  () => process.exit(0),
  (e) => {
    progress('soak failed:', e.stack || e.message)
    process.exit(2)
  },
)
