// What a session keeps in memory while idle (issue 7: memory per session). Real sockets on loopback.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { start, ws, req, hello, until, stopAll } from './raw'

after(stopAll)

test('regression: a WebSocket session no longer keeps its handshake headers; it keeps the others', async () => {
  const r = await start()
  const c = ws(r.port, undefined, { Cookie: 'a=1', 'X-App': 'mine' })
  const s = r.ll.sessions.get((await c.hello()).sid)!
  assert.equal(s.headers.cookie, 'a=1')
  assert.equal(s.headers['x-app'], 'mine')
  assert.equal(s.headers.host, `127.0.0.1:${r.port}`)
  for (const k of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'upgrade', 'connection'])
    assert.equal(s.headers[k], undefined, k)
  // A session made over HTTP keeps its request's headers as they came.
  const get = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, {
    Cookie: 'b=2',
    Connection: 'keep-alive',
  })
  const p = r.ll.sessions.get(hello(get.frames).sid)!
  assert.deepEqual([p.headers.cookie, p.headers.connection], ['b=2', 'keep-alive'])
  await r.stop()
})

// held-message list or control-frame queue until it needs one
test('an idle session makes no parked-upload map', async () => {
  const r = await start({}, false)
  const c = ws(r.port)
  const s = r.ll.sessions.get((await c.hello()).sid)!
  c.sock.send('u1')
  c.sock.send('s1')
  c.sock.send('mone')
  await until(() => r.received.get(s)?.length == 1)
  assert.deepEqual(
    [s._store._inbound._parked, s._store._later, s._store._inbound._held],
    [undefined, undefined, undefined],
  )
  // Paused: the held list exists while it holds something, and goes once delivered.
  s.pause()
  c.sock.send('mtwo')
  c.sock.send('mthree')
  await until(() => s._store._inbound._held?.length == 2)
  s.resume()
  assert.deepEqual(r.received.get(s), ['one', 'two', 'three'])
  assert.equal(s._store._inbound._held, undefined)
  await c.until((f) => f === 'a3')
  await r.stop()
})

// their answers carry every header
test('a held poll and an open stream keep no header map of their own, a held poll no header text', async () => {
  const r = await start({ origins: ['https://app.example'] })
  const origin = { Origin: 'https://app.example' }
  const first = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, origin)
  const sid = hello(first.frames).sid
  await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'p'], origin)
  const held = req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=1`, undefined, origin)
  const s = r.ll.sessions.get(sid)!
  await until(() => !!s._store._links.polling)
  const res = (s._store._links.polling as unknown as { _res: ServerResponse })._res
  // Regression: the poll's head was built when it came in, and held (~1 KB of string) until answered.
  assert.equal(res.headersSent, false, 'no head built while the poll waits')
  assert.deepEqual(res.getHeaderNames(), [], 'headers written whole, none kept by name')
  s.send('hi')
  const poll = await held
  assert.deepEqual(poll.frames, ['s1', 'mhi'])
  for (const a of [first, poll]) {
    assert.match(a.headers['cache-control']!, /no-store/)
    assert.deepEqual(
      [a.headers.pragma, a.headers['x-content-type-options'], a.headers.vary],
      ['no-cache', 'nosniff', 'Origin'],
    )
    assert.deepEqual(
      [a.headers['access-control-allow-origin'], a.headers['access-control-allow-credentials']],
      ['https://app.example', 'true'],
    )
  }
  assert.equal(poll.headers['x-accel-buffering'], 'no')
  const stream = req(r.port, 'GET', `v=2&t=stream&sid=${sid}&ack=1&o=1`, undefined, origin)
  await until(() => !!s._store._links.stream)
  assert.deepEqual((s._store._links.stream as unknown as { _res: ServerResponse })._res.getHeaderNames(), [])
  await r.stop()
  await stream.catch(() => {})
})

// one error listener on its socket, no client set beside the sessions
test('a WebSocket costs no more than ws needs', async () => {
  const r = await start()
  const c = ws(r.port)
  const s = r.ll.sessions.get((await c.hello()).sid)!
  const sock = (s._store._links.websocket as unknown as { ws: { _socket: import('node:net').Socket } }).ws._socket
  assert.equal(sock.listenerCount('error'), 1)
  assert.equal((r.ll as unknown as { _wss: { clients?: Set<unknown> } })._wss.clients, undefined)
  // Errors on the socket still end the connection, and the session survives it.
  sock.destroy(new Error('boom'))
  assert.equal((await c.closed).code, 1006)
  assert.equal(s.closed, false)
  await r.stop()
})
