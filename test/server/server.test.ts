// The reference server over real sockets on loopback: handshakes, isolation, origins, limits.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { start, ws, req, hello, until } from './raw'

test('WebSocket: the hello arrives with no round trip beyond the handshake, with a 128-bit random session id', async () => {
  const r = await start()
  const c = ws(r.port)
  const h = await c.hello()
  assert.equal(h.v, 1)
  assert.match(h.sid, /^[A-Za-z0-9_-]{22}$/)
  assert.deepEqual([h.ack, h.hb, h.max], [0, 25000, 4194304])
  assert.equal(c.frames[0][0], 'o', 'the hello is the first frame')
  const ids = new Set<string>()
  for (let i = 0; i < 20; i++) ids.add((await ws(r.port).hello()).sid)
  assert.equal(ids.size, 20)
  await r.stop()
})

test('a malformed frame from one client closes only that session, with 1002; the others carry on', async () => {
  const r = await start()
  const good = ws(r.port)
  const bad = ws(r.port)
  await Promise.all([good.hello(), bad.hello()])
  for (const c of [good, bad]) c.sock.send('u1'), c.sock.send('s1')
  good.sock.send('mhello')
  await good.until((f) => f === 'mhello')
  bad.sock.send('Z garbage')
  await bad.until((f) => typeof f == 'string' && f.startsWith('c1002'))
  assert.equal((await bad.closed).code, 1000)
  good.sock.send('mstill here')
  await good.until((f) => f === 'mstill here')
  assert.equal(r.sessions.length, 2)
  assert.equal(r.sessions.filter((s) => s.closed).length, 1)
  await r.stop()
})

test('garbage of every kind from a client never throws out of the server', async () => {
  const r = await start()
  const cases: Array<string | Buffer> = ['', 'x', 'M[1,2]', 'M{', 'M["a",', 's-1', 'sabc', 'a99999999999999999999', 'o{}', 'q', 'u', 'c', Buffer.from([0, 1, 2])]
  for (const g of cases) {
    const c = ws(r.port)
    await c.hello()
    c.sock.send(g)
    // Binary data before any sequence marker, or any unknown frame, is a protocol error.
    const f = await c.until((x) => typeof x == 'string' && (x[0] == 'c' || x[0] == 'q'), 2000).catch(() => 'none')
    assert.ok(f === 'none' || /^c1002|^q/.test(f as string), JSON.stringify(g) + ' -> ' + f)
    c.sock.close()
  }
  const ok = ws(r.port)
  await ok.hello()
  ok.sock.send('u1')
  ok.sock.send('s1')
  ok.sock.send('mfine')
  await ok.until((f) => f === 'mfine')
  await r.stop()
})

test('origins: by default only the same origin; a cross-site WebSocket is refused with 403', async () => {
  const r = await start({ origins: undefined })
  const evil = ws(r.port, undefined, { Origin: 'https://evil.example' })
  await assert.rejects(evil.opened, /403/)
  const same = ws(r.port, undefined, { Origin: `http://127.0.0.1:${r.port}` })
  await same.hello()
  const noOrigin = ws(r.port)
  await noOrigin.hello()
  const get = await req(r.port, 'GET', 'v=1&t=polling&ack=0&o=1', undefined, { Origin: 'https://evil.example' })
  assert.equal(get.status, 403)
  assert.equal(get.headers['access-control-allow-origin'], undefined)
  await r.stop()
})

test('CORS: a listed origin is echoed with credentials; "*" never goes with credentials', async () => {
  const listed = await start({ origins: ['https://app.example'] })
  const a = await req(listed.port, 'GET', 'v=1&t=polling&ack=0&o=1', undefined, { Origin: 'https://app.example' })
  assert.equal(a.status, 200)
  assert.equal(a.headers['access-control-allow-origin'], 'https://app.example')
  assert.equal(a.headers['access-control-allow-credentials'], 'true')
  assert.match(a.headers['cache-control']!, /no-store/)
  const pre = await req(listed.port, 'OPTIONS', 'v=1&t=polling', undefined, { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' })
  assert.equal(pre.status, 204)
  await listed.stop()
  const any = await start({ origins: '*' })
  const b = await req(any.port, 'GET', 'v=1&t=polling&ack=0&o=1', undefined, { Origin: 'https://whoever.example' })
  assert.equal(b.headers['access-control-allow-origin'], '*')
  assert.equal(b.headers['access-control-allow-credentials'], undefined)
  await any.stop()
})

test('a session id presented from a different origin is refused', async () => {
  const r = await start({ origins: '*' })
  const first = await req(r.port, 'GET', 'v=1&t=polling&ack=0&o=1', undefined, { Origin: 'https://a.example' })
  const sid = hello(first.frames).sid
  const other = await req(r.port, 'POST', `v=1&t=polling&sid=${sid}&ack=0`, ['s1', 'mhi'], { Origin: 'https://b.example' })
  assert.equal(other.status, 404)
  const poll = await req(r.port, 'GET', `v=1&t=polling&sid=${sid}&ack=0`, undefined, { Origin: 'https://b.example' })
  assert.match(poll.frames[0] as string, /^c4001/)
  await r.stop()
})

test('bad requests get 400; unknown paths are left to the app', async () => {
  const r = await start()
  for (const q of ['', 'v=2&t=polling', 'v=1&t=carrier', 'v=1&t=polling&sid=short', 'v=1&t=polling&ack=-1', 'v=1&t=polling&ack=1.5'])
    assert.equal((await req(r.port, 'GET', q)).status, 400, q)
  await r.stop()
})

test('authenticate: runs before any session exists, reads the token, and a refusal is a close with its reason', async () => {
  const seen: Array<string | null> = []
  const r = await start({
    authenticate: (_req, token) => {
      seen.push(token)
      return token == 'good' ? { ok: true, data: { user: 'ann' } } : { ok: false, reason: 'bad token' }
    },
  })
  const no = ws(r.port, 'v=1&t=websocket&ack=0&o=1&token=nope')
  await no.until((f) => f === 'c1008 bad token')
  assert.equal(r.ll.sessions.size, 0, 'no session was made')
  const yes = ws(r.port, 'v=1&t=websocket&ack=0&o=1&token=good')
  await yes.hello()
  yes.sock.send('u1')
  yes.sock.send('s1')
  await until(() => r.sessions.length == 1)
  assert.deepEqual(r.sessions[0].data, { user: 'ann' })
  const hdr = ws(r.port, 'v=1&t=websocket&ack=0&o=1', { Authorization: 'Bearer good' })
  await hdr.hello()
  const cookie = await req(r.port, 'GET', 'v=1&t=polling&ack=0&o=1', undefined, { Cookie: 'a=b; lifeline_token=good' })
  assert.equal(hello(cookie.frames).v, 1)
  assert.deepEqual(seen, ['nope', 'good', 'good', 'good'])
  await r.stop()
})

test('broadcast reaches every confirmed session; sessions are listed', async () => {
  const r = await start()
  const cs = [ws(r.port), ws(r.port), ws(r.port)]
  await Promise.all(cs.map((c) => c.hello()))
  for (const c of cs) c.sock.send('u1')
  await until(() => r.sessions.length == 3)
  assert.equal(r.ll.broadcast('news'), 3)
  await Promise.all(cs.map((c) => c.until((f) => f === 'mnews')))
  assert.equal(r.ll.sessions.size, 3)
  await r.stop()
})

test('close() shuts every session with 1001 so clients start anew elsewhere', async () => {
  const r = await start()
  const c = ws(r.port)
  await c.hello()
  c.sock.send('u1')
  await until(() => r.sessions.length == 1)
  r.ll.close()
  await c.until((f) => typeof f == 'string' && f.startsWith('c1001'))
  r.server.close()
})

test('regression: a session made by a same-origin GET (browsers send no Origin there) is bound to the first Origin that shows up', async () => {
  const r = await start({ origins: ['https://app.example'] })
  const first = await req(r.port, 'GET', 'v=1&t=polling&ack=0&o=1')
  const sid = hello(first.frames).sid
  const post = await req(r.port, 'POST', `v=1&t=polling&sid=${sid}&ack=0`, ['s1', 'p'], { Origin: 'https://app.example' })
  assert.equal(post.status, 200)
  const other = await req(r.port, 'POST', `v=1&t=polling&sid=${sid}&ack=0`, ['s1', 'p'], { Origin: 'https://elsewhere.example' })
  assert.equal(other.status, 403, 'not an allowed origin at all')
  await r.stop()
  const any = await start({ origins: '*' })
  const g = await req(any.port, 'GET', 'v=1&t=polling&ack=0&o=1')
  const sid2 = hello(g.frames).sid
  assert.equal((await req(any.port, 'POST', `v=1&t=polling&sid=${sid2}&ack=0`, ['s1', 'p'], { Origin: 'https://a.example' })).status, 200)
  assert.equal((await req(any.port, 'POST', `v=1&t=polling&sid=${sid2}&ack=0`, ['s1', 'p'], { Origin: 'https://b.example' })).status, 404, 'bound to a.example now')
  await any.stop()
})
