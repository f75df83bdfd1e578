// The measured page. Chromium opens it with no DevTools session attached (an attached one slows
// WebSocket 3-4x); it runs one case and POSTs raw samples back to the bench server.
//
//   bench.html?case=lifeline-stream&ports={...}&plan={...}
//   bench.html?case=interference&targets=[{kind,port}]&tries=3&tryMs=10000
import { load, onSurprise, open } from './clients.js'
import {
  big,
  bigBursts,
  connects,
  deadline,
  handlerRoundTrips,
  now,
  pairedRoundTrips,
  roundTrips,
  small,
} from './phases.js'

const q = new URLSearchParams(location.search)
const name = q.get('case')
const ports = JSON.parse(q.get('ports') || '{}')
const post = (path, body) => fetch('/' + path, { method: 'POST', body: JSON.stringify(body) })
const log = (...a) => post('log', { case: name, text: a.join(' ') })
const events = []
onSurprise((text) => (events.push(text), log(text)))
window.onerror = (m, src, line) => log('page error:', m, src + ':' + line)
window.onunhandledrejection = (e) => log('unhandled rejection:', e.reason && (e.reason.stack || e.reason))

/**
 * One connection serves every phase, as in an app. A phase that fails is recorded, and the next
 * phase gets a new connection if the old one is dead or failed.
 */
async function runCase(plan) {
  const out = { case: name, userAgent: navigator.userAgent, crossOriginIsolated, errors: [], transports: [], events }
  await load(name)
  let c = null
  const ready = async () => {
    if (c && c.alive() && !c.failed) return c
    if (c) c.close()
    c = await deadline(open(name, ports), 10000, 'connect')
    out.transports.push(c.transport())
    return c
  }
  const phase = async (key, fn, own) => {
    try {
      const r = await fn(own ? null : await ready())
      if (r.failure && c) c.failed = true
      if (r.failure) log(`${key}: sent ${r.sent} of ${r.n}, got ${r.got}: ${r.failure}`)
      return r
    } catch (e) {
      if (c) c.failed = true
      out.errors.push(key + ': ' + (e && e.message))
    }
  }
  out.connect = await phase('connect', () => connects(() => open(name, ports), plan), true)
  out.rtt = await phase('rtt', (c) => roundTrips(c, plan))
  if (q.get('paired')) out.paired = await phase('paired', (c) => pairedRoundTrips(c, () => open('raw', ports), plan))
  out.handler = await phase('handler', async (c) => ({ ms: (await handlerRoundTrips([c], plan))[0] }))
  if (q.get('paired'))
    out.handlerPaired = await phase('handler paired', async (c) => {
      const raw = await deadline(open('raw', ports), 10000, 'connect raw')
      const [rawMs, ms] = await handlerRoundTrips([raw, c], plan)
      await raw.close()
      return { ms, rawMs }
    })
  out.bursts = await phase('bursts', (c) => bigBursts(c, plan))
  if (q.get('paired'))
    out.burstsPaired = await phase('bursts paired', async (c) => {
      const raw = await deadline(open('raw', ports), 10000, 'connect raw')
      const r = await bigBursts(c, plan, raw)
      await raw.close()
      return r
    })
  out.small = { rounds: [] }
  for (let r = 0; r < plan.smallRounds; r++) out.small.rounds.push(await phase('small', (c) => small(c, plan)))
  out.big = { rounds: [await phase('big', (c) => big(c, plan))] }
  if (c) await c.close()
  return out
}

/** Interference cases: default Lifeline through each proxy, time from `new` to first message. */
async function runInterference(targets, tries, tryMs) {
  await load('lifeline')
  const out = { case: name, results: [] }
  for (const { kind, port } of targets) {
    const r = { kind, ms: [], transports: [], errors: [] }
    for (let i = 0; i < tries && !r.errors.length; i++) {
      const t0 = now()
      const ll = new Lifeline(`http://127.0.0.1:${port}/rt`, { storage: null })
      try {
        await deadline(new Promise((resolve) => ((ll.onmessage = resolve), ll.send('hello'))), tryMs, kind)
        r.ms.push(now() - t0)
        r.transports.push(ll.transport)
      } catch (e) {
        r.errors.push(e.message)
      }
      ll.close()
    }
    out.results.push(r)
  }
  return out
}

const work =
  name == 'interference'
    ? runInterference(JSON.parse(q.get('targets')), +q.get('tries'), +q.get('tryMs'))
    : runCase(JSON.parse(q.get('plan')))
work.then(
  (out) => post('result', out),
  (e) => post('result', { case: name, errors: ['page: ' + (e && (e.stack || e.message))] }),
)
