// fault-random (test/support/randomnet.mjs) does what it says, with real sockets against a TCP echo
// upstream that counts every byte it got: the fates a seed draws, and each fate as it strikes.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { FATE_ODDS, fates } from '../support/randomnet.mjs'
import { startProxy, stopAllProxies } from '../support/proxies.mjs'
import { deadline } from './upstream.mjs'

/** A TCP echo server; `got[i]` is how many bytes its i-th connection received, `conns[i]` that connection. */
let echo
before(async () => {
  const got = []
  const conns = []
  const sockets = new Set()
  const server = net.createServer((s) => {
    const i = got.push(0) - 1
    conns.push(s)
    sockets.add(s)
    s.on('data', (d) => ((got[i] += d.length), s.write(d)))
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  echo = { port: server.address().port, got, conns, sockets, server }
})
after(async () => {
  await stopAllProxies()
  for (const s of echo.sockets) s.destroy()
  echo.server.close()
})

/** The first seed from 1 whose first fate under `odds` passes `want` (a bounded search). */
function seedWhere(odds, want) {
  for (let seed = 1; seed < 10000; seed++) if (want(fates(seed, { odds })())) return seed
  throw new Error('no seed below 10000')
}

/**
 * Send `bytes` through `port` on one connection and read until it closes or `quietMs` passes
 * with nothing: how many came back, how it ended (`reset`, `end` or `open`), and when.
 */
async function exchange(port, bytes, quietMs = 800) {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  await once(s, 'connect')
  const t0 = Date.now()
  const r = { back: 0, ended: 'open', firstAt: -1 }
  let quiet
  const done = new Promise((resolve) => {
    const idle = () => (clearTimeout(quiet), (quiet = setTimeout(resolve, quietMs)))
    s.on('data', (d) => ((r.back += d.length), r.firstAt < 0 && (r.firstAt = Date.now() - t0), idle()))
    s.on('end', () => ((r.ended = 'end'), resolve()))
    s.on('error', () => ((r.ended = 'reset'), resolve()))
    s.on('close', () => resolve())
    idle()
  })
  s.write(Buffer.alloc(bytes, 7))
  await deadline(done, 10000, 'the exchange')
  clearTimeout(quiet)
  s.destroy()
  return r
}

describe('fault-random', () => {
  it('draws the same fates from the same seed, others from another, within their ranges', () => {
    const draw = (seed, n) => Array.from({ length: n }, fates(seed))
    assert.deepEqual(draw(7, 50), draw(7, 50))
    assert.notDeepEqual(draw(7, 50), draw(8, 50))
    const many = draw(12345, 4000)
    const count = Object.fromEntries(Object.keys(FATE_ODDS).map((k) => [k, many.filter((f) => f.kind == k).length]))
    const total = Object.values(FATE_ODDS).reduce((a, b) => a + b, 0)
    // Each fate near its share (4000 draws: a few standard deviations is well under 40%).
    for (const [k, n] of Object.entries(count))
      assert.ok(Math.abs(n / 4000 - FATE_ODDS[k] / total) < 0.4 * (FATE_ODDS[k] / total), JSON.stringify(count))
    assert.ok(many.every((f) => f.latency >= 0 && f.latency <= 300 && Number.isInteger(f.latency)))
    assert.ok(many.every((f) => f.at >= 0 && f.at <= 100000))
    // Offsets spread over heads, records and frames: some under 100 B, some over 10 KB.
    assert.ok(many.some((f) => f.at < 100) && many.some((f) => f.at > 10000))
    assert.ok(many.some((f) => f.latency < 10) && many.some((f) => f.latency > 290))
    assert.throws(() => fates(1, { odds: { flood: 1 } }), /unknown fate flood/)
    assert.throws(() => fates(1, { odds: { pass: 0 } }), /no fate/)
  })

  it('pass: every byte both ways, in order, each way `latency` late', async () => {
    const seed = seedWhere({ pass: 1 }, (f) => f.latency >= 100)
    const { latency } = fates(seed, { odds: { pass: 1 } })()
    const p = await startProxy('fault-random', echo.port, { seed, odds: { pass: 1 } })
    const r = await exchange(p.port, 20000)
    assert.equal(r.back, 20000)
    assert.ok(r.firstAt >= 2 * latency - 5, `first byte back after ${r.firstAt} ms, latency ${latency} ms each way`)
    assert.deepEqual([p.stats.connections, p.stats.drawn.pass, p.stats.cut], [1, 1, 0])
  })

  for (const dir of ['up', 'down'])
    it(`cut ${dir}: exactly \`at\` bytes pass that way, then both connections are closed`, async () => {
      const odds = { cut: 1 }
      const seed = seedWhere(odds, (f) => f.dir == dir && f.at > 100 && f.at < 5000)
      const { at } = fates(seed, { odds })()
      const p = await startProxy('fault-random', echo.port, { seed, odds })
      const before = echo.got.length
      const r = await exchange(p.port, 8000)
      // Up: the echo got `at` and sent it back (it may be cut before all of it is back). Down: it got all.
      assert.equal(echo.got[before], dir == 'up' ? at : 8000)
      assert.ok(dir == 'up' ? r.back <= at : r.back == at, `${r.back} bytes back, cut ${dir} at ${at}`)
      assert.equal(r.ended, 'end', 'closed mid-stream, the bytes before the offset delivered')
      assert.equal(p.stats.cut, 1)
      assert.match(p.stats.log[0], new RegExp(`^#1 cut ${dir} at ${at} B `))
    })

  it('stall: `at` bytes pass, then nothing either way, and both connections stay open', async () => {
    const odds = { stall: 1 }
    const seed = seedWhere(odds, (f) => f.dir == 'down' && f.at > 100 && f.at < 5000 && f.latency < 100)
    const { at } = fates(seed, { odds })()
    const p = await startProxy('fault-random', echo.port, { seed, odds })
    const before = echo.got.length
    const r = await exchange(p.port, 8000, 1000)
    assert.deepEqual([echo.got[before], r.back, r.ended], [8000, at, 'open'])
    assert.equal(echo.conns[before].destroyed, false, 'the upstream connection is still open')
    assert.equal(p.stats.stalled, 1)
  })

  it('lose: the whole request is delivered, the response dropped, the connection ended without it', async () => {
    const odds = { lose: 1 }
    const p = await startProxy('fault-random', echo.port, { seed: 3, odds })
    const before = echo.got.length
    const r = await exchange(p.port, 8000)
    assert.deepEqual([echo.got[before], r.back, r.ended], [8000, 0, 'end'])
    assert.equal(p.stats.lost, 1)
  })
})
