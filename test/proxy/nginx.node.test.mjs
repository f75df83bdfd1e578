// Each nginx kind does what test/support/proxies.mjs says it does, shown with real sockets
// against a tiny upstream (no Lifeline involved).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { startProxy, stopAllProxies } from '../support/proxies.mjs'
import { deadline, timedGet, upstream, wsOpen } from './upstream.mjs'

let up
before(async () => (up = await upstream()))
after(async () => {
  await stopAllProxies()
  await up.close()
})

/** A WebSocket through `port` echoes, or the handshake's failure. */
async function wsEcho(port) {
  const ws = await wsOpen(port, '/rt')
  ws.send('through')
  const [m] = await deadline(once(ws, 'message'), 5000, 'echo')
  ws.close()
  return String(m)
}

describe('nginx', () => {
  it('forwards WebSocket upgrades both ways', async () => {
    const p = await startProxy('nginx', up.port)
    assert.equal(await wsEcho(p.port), 'through')
  })

  it('passes a trickled response on chunk by chunk, and uploads whole', async () => {
    const p = await startProxy('nginx', up.port)
    const got = await timedGet(p.port, '/trickle?n=6&size=100&every=100', up)
    assert.equal(got.body.length, 600)
    // Unbuffered: the first chunk is out long before the upstream is done (6 x 100 ms).
    assert.ok(got.chunks[0].at < 400, `first chunk at ${got.chunks[0].at} ms`)
    assert.ok(got.chunks.length >= 4, `${got.chunks.length} chunks`)
    const big = 'x'.repeat(2 << 20)
    const r = await fetch(`http://127.0.0.1:${p.port}/echo`, {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'text/plain' },
    })
    assert.equal((await r.text()).length, big.length)
  })
})

describe('nginx-no-upgrade', () => {
  it('fails the WebSocket handshake', async () => {
    const p = await startProxy('nginx-no-upgrade', up.port)
    // The upstream saw a plain GET, so it answered as one.
    await assert.rejects(wsEcho(p.port), /HTTP 200/)
  })

  it('passes plain HTTP, streamed responses unbuffered', async () => {
    const p = await startProxy('nginx-no-upgrade', up.port)
    const got = await timedGet(p.port, '/trickle?n=6&size=100&every=100', up)
    assert.equal(got.body.length, 600)
    assert.ok(got.chunks[0].at < 400, `first chunk at ${got.chunks[0].at} ms`)
  })
})

describe('nginx-buffering', () => {
  it('holds a trickled response until about 4 KB have gathered', async () => {
    const p = await startProxy('nginx-buffering', up.port)
    up.written = 0
    const got = await timedGet(p.port, '/trickle?n=12&size=500&every=60', up)
    assert.equal(got.body.length, 6000)
    const first = got.chunks[0]
    // The 4 KB buffer holds the response head too, so a little under 4 KB of body fills it.
    assert.ok(first.upstreamWritten >= 3500, `first bytes came when the upstream had written ${first.upstreamWritten}`)
    assert.ok(first.bytes >= 3000, `first piece was ${first.bytes} bytes`)
    assert.ok(got.headAt >= 7 * 60 - 30, `even the head waited for the buffer: it came at ${got.headAt} ms`)
  })

  it('holds a response smaller than the buffer until it ends', async () => {
    const p = await startProxy('nginx-buffering', up.port)
    const t0 = Date.now()
    const got = await timedGet(p.port, '/trickle?n=5&size=100&every=80', up)
    assert.equal(got.body.length, 500)
    assert.equal(got.chunks.length, 1, 'one piece')
    assert.ok(t0 + got.chunks[0].at >= up.ended, 'nothing before the upstream ended')
  })

  it('cannot forward a WebSocket upgrade', async () => {
    const p = await startProxy('nginx-buffering', up.port)
    await assert.rejects(wsEcho(p.port), /HTTP 200/)
  })
})

describe('nginx-timeout', () => {
  it('cuts an idle WebSocket and a held request after readTimeout', async () => {
    const p = await startProxy('nginx-timeout', up.port, { readTimeout: 2 })
    assert.equal(await wsEcho(p.port), 'through', 'upgrades are forwarded')
    const t0 = Date.now()
    const ws = await wsOpen(p.port, '/rt')
    const closed = deadline(once(ws, 'close'), 6000, 'idle WebSocket cut')
    const held = deadline(timedGet(p.port, '/hold'), 6000, 'held request cut')
    const [[code], poll] = await Promise.all([closed, held])
    const wsAfter = Date.now() - t0
    assert.equal(code, 1006, 'cut, not closed')
    assert.ok(wsAfter >= 1900 && wsAfter < 4000, `WebSocket cut after ${wsAfter} ms`)
    assert.equal(poll.status, 504)
    assert.ok(poll.headAt >= 1900 && poll.headAt < 4000, `request cut after ${poll.headAt} ms`)
  })
})
