// `fault-random`: a randomized network, a TCP relay (test/support/faults.mjs) whose every connection
// gets a fate drawn from a seeded PRNG: its own latency, then a clean pass, a cut at a random byte
// offset, a stall that never ends, or a response lost after the request was delivered.
//
//   const net = await randomNet(server.port, { seed: 42 })
//   ... connect to http://127.0.0.1:${net.port}/rt ...
//   net.stats   // { connections, drawn, cut, stalled, lost, log }
//
// The same seed draws the same fates in the same order of accepted connections; which request
// meets which fate also depends on how the browser spreads requests over connections.
import { lane, tcpProxy } from './faults.mjs'

/** How often each fate is drawn (weights, any scale). */
export const FATE_ODDS = Object.freeze({ pass: 4, cut: 3, stall: 1, lose: 2 })
/** Offsets are log-uniform over 0..MAX_OFFSET bytes: request or response heads, records, frames. */
const MAX_OFFSET = 100000
/** At most this many fates that struck are kept in `stats.log`. */
const MAX_LOG = 200

/** mulberry32: a small, fast PRNG of 32-bit state; numbers in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The fate of each next connection: `latency` (ms, 0..maxLatencyMs, each way), `kind` (`pass`,
 * `cut`, `stall`, `lose`), and where a cut or stall strikes: `dir` (`up`: client to server,
 * `down`) and `at` (bytes passed that way first). Four numbers are drawn per connection, whatever
 * its kind, so the sequence depends on the seed alone.
 */
export function fates(seed, { odds = FATE_ODDS, maxLatencyMs = 300 } = {}) {
  const rand = prng(seed)
  const kinds = Object.keys(odds).filter((k) => odds[k] > 0)
  const total = kinds.reduce((sum, k) => sum + odds[k], 0)
  for (const k of kinds) if (!(k in FATE_ODDS)) throw new Error(`fault-random: unknown fate ${k}`)
  if (!(total > 0)) throw new Error('fault-random: no fate has odds above 0')
  return () => {
    const latency = Math.floor(rand() * (maxLatencyMs + 1))
    let pick = rand() * total
    const kind = kinds.find((k) => (pick -= odds[k]) < 0) || kinds[kinds.length - 1]
    const dir = rand() < 0.5 ? 'up' : 'down'
    const at = Math.floor(Math.exp(rand() * Math.log(MAX_OFFSET + 1))) - 1
    return { latency, kind, dir, at }
  }
}

/**
 * Start the relay in front of 127.0.0.1:`upstreamPort`. A `cut` closes both connections once `at`
 * bytes went `dir` (those bytes delivered, the rest not: the end comes mid-head, mid-record or
 * mid-frame); a `stall` passes `at` bytes `dir`, then
 * nothing more either way, ever, with both connections left open; a `lose` delivers every byte of
 * the request and drops the response, then ends the client's connection (FIN) without a byte of it.
 * A fate whose offset is never reached is a pass. `stats` counts what was drawn and what struck.
 * @param {{ seed?: number, odds?: Record<string, number>, maxLatencyMs?: number }} [opts]
 */
export async function randomNet(upstreamPort, { seed = 1, ...opts } = {}) {
  const next = fates(seed, opts)
  const drawn = { pass: 0, cut: 0, stall: 0, lose: 0 }
  const p = await tcpProxy(upstreamPort, (client, upstream, stats) => {
    const fate = next()
    const n = stats.connections
    drawn[fate.kind]++
    let frozen = false // a stall struck: nothing more passes either way
    const struck = (what) => {
      stats[what]++
      if (stats.log.length < MAX_LOG)
        stats.log.push(`#${n} ${what} ${fate.kind == 'lose' ? '' : `${fate.dir} at ${fate.at} B `}(${fate.latency} ms)`)
    }
    const strike = {
      cut: () => (struck('cut'), client.destroy(), upstream.destroy()),
      stall: () => (struck('stalled'), (frozen = true)),
      lose: () => {
        struck('lost')
        frozen = true
        upstream.destroy()
        client.on('end', () => client.destroy())
        client.end()
      },
    }
    const pass = (from, to, dir) => {
      const push = lane(fate.latency)
      let passed = 0
      let over = false // this way struck: nothing more is queued
      from.on('data', (d) => {
        if (over || frozen) return
        if (fate.kind == 'lose' && dir == 'down') {
          over = true
          return push(strike.lose)
        }
        const room = fate.at - passed
        passed += d.length
        if ((fate.kind == 'cut' || fate.kind == 'stall') && fate.dir == dir && room < d.length) {
          over = true
          const head = d.subarray(0, room)
          // The bytes before the offset are flushed first, then the connections closed.
          return push(() => (frozen || !head.length ? strike[fate.kind]() : to.write(head, strike[fate.kind])))
        }
        push(() => !frozen && to.write(d))
      })
      from.on('end', () => !over && push(() => !frozen && to.end()))
      from.on('close', push.stop)
      to.on('close', push.stop)
    }
    pass(client, upstream, 'up')
    pass(upstream, client, 'down')
  })
  Object.assign(p.stats, { seed, drawn, cut: 0, stalled: 0, lost: 0, log: [] })
  return p
}
