// Each fault proxy does what test/support/faults.mjs says it does, shown with real sockets
// against a tiny upstream (no Lifeline involved).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { startProxy, stopAllProxies } from '../support/proxies.mjs'
import { deadline, settlesWithin, timedGet, upstream, wsOpen } from './upstream.mjs'

let up
before(async () => (up = await upstream()))
after(async () => {
  await stopAllProxies()
  await up.close()
})

/** `n` numbered messages echoed over `ws`, in the order they came back. */
function echoes(ws, n) {
  const got = []
  const done = new Promise((resolve) =>
    ws.on('message', (m) => {
      got.push(String(m))
      if (got.length == n) resolve(got)
    }),
  )
  for (let i = 0; i < n; i++) ws.send('m' + i)
  return done
}
const numbered = (n) => Array.from({ length: n }, (_, i) => 'm' + i)

describe('fault-blackhole', () => {
  it('passes the 101, then drops every byte both ways and keeps both connections open', async () => {
    const p = await startProxy('fault-blackhole', up.port)
    const direct = await wsOpen(up.port)
    assert.deepEqual(
      await deadline(echoes(direct, 3), 2000, 'direct echo'),
      numbered(3),
      'the same exchange works without the proxy',
    )
    direct.close()
    const ws = await wsOpen(p.port, '/rt')
    const heard = new Promise((resolve) => ws.once('message', resolve))
    const far = up.ws[up.ws.length - 1]
    const arrived = new Promise((resolve) => far.once('message', resolve))
    ws.send('into the void')
    // Something that must not happen can only be shown with a window: 100 times the direct round trip.
    assert.equal(await settlesWithin(Promise.race([heard, arrived]), 500), false, 'nothing reached either end')
    assert.equal(ws.readyState, ws.OPEN, 'the client side is still open')
    assert.equal(far.readyState, far.OPEN, 'the upstream side is still open')
    far.send('out of the void')
    assert.equal(await settlesWithin(heard, 200), false, 'nor from the upstream')
    ws.terminate()
  })

  it('passes plain HTTP untouched, streamed responses as they come', async () => {
    const p = await startProxy('fault-blackhole', up.port)
    const got = await timedGet(p.port, '/trickle?n=5&size=100&every=100', up)
    assert.equal(got.body, ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(100)).join(''))
    assert.ok(got.chunks.length >= 4, `${got.chunks.length} chunks`)
    const r = await fetch(`http://127.0.0.1:${p.port}/echo`, { method: 'POST', body: 'up and back' })
    assert.equal(await r.text(), 'up and back')
  })
})

describe('fault-delay', () => {
  it('adds at least delayMs each way and keeps order', async () => {
    const delayMs = 150
    const p = await startProxy('fault-delay', up.port, { delayMs })
    const t0 = Date.now()
    const r = await fetch(`http://127.0.0.1:${p.port}/`)
    assert.equal(await r.text(), 'ok')
    const rtt = Date.now() - t0
    assert.ok(rtt >= 2 * delayMs, `an HTTP round trip took ${rtt} ms`)
    const ws = await wsOpen(p.port, '/rt')
    const t1 = Date.now()
    const got = await deadline(echoes(ws, 200), 5000, '200 echoes')
    const took = Date.now() - t1
    assert.deepEqual(got, numbered(200))
    assert.ok(took >= 2 * delayMs, `200 echoes took ${took} ms`)
    ws.close()
  })
})

describe('fault-cut', () => {
  it('destroys every connection cutAfterMs after accepting it', async () => {
    const cutAfterMs = 600
    const p = await startProxy('fault-cut', up.port, { cutAfterMs })
    const t0 = Date.now()
    const ws = await wsOpen(p.port, '/rt')
    assert.deepEqual(await echoes(ws, 5), numbered(5), 'bytes pass before the cut')
    const held = timedGet(p.port, '/hold').then(
      () => 'answered',
      (e) => e.code,
    )
    const [code] = await deadline(once(ws, 'close'), 3000, 'WebSocket cut')
    const after = Date.now() - t0
    assert.equal(code, 1006, 'cut, not closed')
    assert.ok(after >= cutAfterMs - 20 && after < cutAfterMs + 500, `WebSocket cut after ${after} ms`)
    assert.equal(await deadline(held, 3000, 'held request cut'), 'ECONNRESET')
  })
})

describe('fault-oneway', () => {
  it('passes the handshake and everything the server sends; drops all the client sends after the 101', async () => {
    const p = await startProxy('fault-oneway', up.port)
    const ws = await wsOpen(p.port, '/rt')
    const far = up.ws[up.ws.length - 1]
    const heard = []
    ws.on('message', (m) => heard.push(String(m)))
    const arrived = new Promise((resolve) => far.once('message', resolve))
    ws.send('into the void')
    assert.equal(await settlesWithin(arrived, 500), false, 'the client sent into a void')
    // The upstream echoes whatever it gets, so its own sends are the only way back.
    for (let i = 0; i < 3; i++) far.send('down' + i)
    await deadline(
      new Promise((resolve) => ws.on('message', () => heard.length == 3 && resolve())),
      2000,
      'server to client',
    )
    assert.deepEqual(heard, ['down0', 'down1', 'down2'])
    assert.equal(p.stats.holed, 1)
    ws.terminate()
    assert.equal(await settlesWithin(once(far, 'close'), 300), false, "the client's end is dropped too")
    assert.equal(far.readyState, far.OPEN)
  })

  it('passes plain HTTP untouched, both ways', async () => {
    const p = await startProxy('fault-oneway', up.port)
    const r = await fetch(`http://127.0.0.1:${p.port}/echo`, { method: 'POST', body: 'up and back' })
    assert.equal(await r.text(), 'up and back')
  })
})

describe('fault-midsession', () => {
  // then later upgrades get 403 from the proxy and plain HTTP passes
  it('a WebSocket works for afterMs, then goes silent both ways and stays open', async () => {
    const afterMs = 600
    const p = await startProxy('fault-midsession', up.port, { afterMs })
    const ws = await wsOpen(p.port, '/rt')
    const t0 = Date.now()
    const far = up.ws[up.ws.length - 1]
    assert.deepEqual(await deadline(echoes(ws, 5), 2000, 'before'), numbered(5), 'traffic passes before afterMs')
    await deadline(
      (async () => {
        while (!p.tripped()) await new Promise((r) => setTimeout(r, 10))
      })(),
      afterMs + 1000,
      'trip',
    )
    const at = p.stats.trippedAt - t0
    assert.ok(at >= afterMs - 50 && at < afterMs + 200, `silent after ${at} ms`)
    const heard = new Promise((resolve) => ws.once('message', resolve))
    const arrived = new Promise((resolve) => far.once('message', resolve))
    ws.send('up')
    far.send('down')
    assert.equal(await settlesWithin(Promise.race([heard, arrived]), 500), false, 'nothing either way')
    assert.deepEqual([ws.readyState, far.readyState], [ws.OPEN, far.OPEN], 'both still open')
    await assert.rejects(wsOpen(p.port, '/rt'), /HTTP 403/)
    assert.equal(p.stats.refused, 1)
    const r = await fetch(`http://127.0.0.1:${p.port}/echo`, { method: 'POST', body: 'still' })
    assert.equal(await r.text(), 'still')
    const trickle = await timedGet(p.port, '/trickle?n=4&size=100&every=100', up)
    assert.equal(trickle.body.length, 400, 'a stream passes too')
    ws.terminate()
  })
})

describe('fault-cutrandom', () => {
  it('destroys every connection 200-700 ms after accepting it, each at its own time', async () => {
    const p = await startProxy('fault-cutrandom', up.port)
    const lives = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const t0 = Date.now()
        const ws = await wsOpen(p.port, '/rt')
        assert.deepEqual(await echoes(ws, 2), numbered(2), 'bytes pass before the cut')
        const [code] = await deadline(once(ws, 'close'), 2000, 'cut')
        assert.equal(code, 1006, 'cut, not closed')
        return Date.now() - t0
      }),
    )
    const held = await deadline(
      timedGet(p.port, '/hold').then(
        () => 'answered',
        (e) => e.code,
      ),
      2000,
      'held request cut',
    )
    assert.equal(held, 'ECONNRESET')
    for (const ms of lives) assert.ok(ms >= 190 && ms < 900, `cut after ${ms} ms`)
    assert.ok(Math.max(...lives) - Math.min(...lives) > 50, `random, not fixed: ${lives.join(', ')} ms`)
    assert.equal(p.stats.cut, 13)
  })
})
