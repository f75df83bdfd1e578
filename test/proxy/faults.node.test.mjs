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
    assert.deepEqual(await deadline(echoes(direct, 3), 2000, 'direct echo'), numbered(3), 'the same exchange works without the proxy')
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
