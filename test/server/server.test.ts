// The reference server over real sockets on loopback: handshakes, isolation, origins, limits; in one
// process and on a one-node cluster over Redis (stores.ts).
import { after, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { start, ws, req, hello, until, pollSession, wsSession, stopAll, recorder, throwingHandlers } from './raw'
import { eachStore } from './stores'

// A failed assertion skips its test's stop(): the servers left must not keep the run from ending.
after(stopAll)

eachStore((store) => {
  // with a 128-bit random session id
  it('WebSocket: the hello arrives with no round trip beyond the handshake', async () => {
    const r = await start()
    const c = ws(r.port)
    const h = await c.hello()
    assert.equal(h.v, 2)
    assert.match(h.sid, /^[A-Za-z0-9_-]{22}$/)
    assert.deepEqual([h.ack, h.hb, h.max], [0, 25000, 4194304])
    assert.equal(c.frames[0][0], 'o', 'the hello is the first frame')
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await ws(r.port).hello()).sid)
    assert.equal(ids.size, 20)
    await r.stop()
  })

  it('a malformed frame from one client closes only that session, with 1002; the others carry on', async () => {
    const r = await start()
    const good = ws(r.port)
    const bad = ws(r.port)
    await Promise.all([good.hello(), bad.hello()])
    for (const c of [good, bad]) (c.sock.send('u1'), c.sock.send('s1'))
    good.sock.send('mhello')
    await good.until((f) => f === 'mhello')
    bad.sock.send('Z garbage')
    await bad.until((f) => typeof f == 'string' && f.startsWith('c1002'))
    assert.equal((await bad.closed).code, 1000)
    good.sock.send('mstill here')
    await good.until((f) => f === 'mstill here')
    assert.equal(r.sessions.length, 2)
    // In cluster mode the owner hears of the end by a hint (on a Redis Cluster, through its bus).
    await until(() => r.sessions.some((s) => s.closed), 5000, 'the bad session closed')
    assert.equal(r.sessions.filter((s) => s.closed).length, 1, 'the other carries on')
    await r.stop()
  })

  it('garbage of every kind from a client never throws out of the server', async () => {
    const r = await start()
    const cases: Array<string | Buffer> = [
      '',
      'x',
      'M[1,2]',
      'M{',
      'M["a",',
      's-1',
      'sabc',
      'a99999999999999999999',
      'o{}',
      'q',
      'u',
      'c',
      Buffer.from([0, 1, 2]),
    ]
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

  it('origins: by default only the same origin; a cross-site WebSocket is refused with 403', async () => {
    const r = await start({ origins: undefined })
    const evil = ws(r.port, undefined, { Origin: 'https://evil.example' })
    await assert.rejects(evil.opened, /403/)
    const same = ws(r.port, undefined, { Origin: `http://127.0.0.1:${r.port}` })
    await same.hello()
    const noOrigin = ws(r.port)
    await noOrigin.hello()
    const get = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, { Origin: 'https://evil.example' })
    assert.equal(get.status, 403)
    // Readable, so the page learns why (test/server/access.test.ts), but never with credentials.
    assert.deepEqual(
      [get.headers['access-control-allow-origin'], get.headers['access-control-allow-credentials']],
      ['*', undefined],
    )
    assert.equal(r.ll.sessions.size, 2, 'only the same-origin and the origin-less WebSockets made sessions')
    await r.stop()
  })

  it('CORS: a listed origin is echoed with credentials; "*" never goes with credentials', async () => {
    const listed = await start({ origins: ['https://app.example'] })
    const a = await req(listed.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, { Origin: 'https://app.example' })
    assert.equal(a.status, 200)
    assert.equal(a.headers['access-control-allow-origin'], 'https://app.example')
    assert.equal(a.headers['access-control-allow-credentials'], 'true')
    assert.match(a.headers['cache-control']!, /no-store/)
    const pre = await req(listed.port, 'OPTIONS', 'v=2&t=polling', undefined, {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'POST',
    })
    assert.equal(pre.status, 204)
    await listed.stop()
    const any = await start({ origins: '*' })
    const b = await req(any.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, { Origin: 'https://whoever.example' })
    assert.equal(b.headers['access-control-allow-origin'], '*')
    assert.equal(b.headers['access-control-allow-credentials'], undefined)
    await any.stop()
  })

  // Issue 25: how a client notices a poll answer or a stream stalled in a proxy while uploads get through.
  it('an upload answer says what the download carried (`w`) to a client that asks with w=1', async () => {
    const r = await start()
    const got: string[] = []
    const stream = req(r.port, 'GET', 'v=2&t=stream&ack=0&o=1', undefined, {}, (fs) => got.push(...(fs as string[])))
    await until(() => got.some((f) => f[0] == 'o'), 5000, 'hello')
    const post = (q: string, frames: string[]) => req(r.port, 'POST', `v=2&t=stream&sid=${hello(got).sid}&${q}`, frames)
    await post('ack=0', ['s1', 'u1', 'p'])
    const plain = await post('ack=0', ['s1', 'mhi'])
    assert.ok(!plain.frames.some((f) => f[0] == 'w'), 'not asked: ' + plain.frames)
    await until(() => got.includes('mho') || got.includes('mhi'), 5000, 'the echo on the stream')
    await post('ack=1', ['s2', 'mho'])
    await until(() => got.includes('mho'), 5000, 'the second echo')
    assert.deepEqual((await post('ack=1&w=1', ['s3', 'p'])).frames, ['q', 'a2', 'w2'])
    r.ll.sessions.forEach((s) => s.close())
    await stream
    await r.stop()
  })

  // What a lost poll, or a lost answer, leaves: the client never asks again, the server has the reply
  // for its next poll. A node in cluster mode knows only what its links wrote: between polls, no `w`.
  if (store == 'memory')
    it('between polls, an upload answer says what waits for the next poll (`w`)', async () => {
      const r = await start()
      const sid = await pollSession(r.port)
      const poll = req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=0`)
      await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'mhi'])
      assert.deepEqual((await poll).frames, ['s1', 'mhi'])
      const asked = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0&w=1`, ['s2', 'mho'])
      assert.deepEqual(asked.frames, ['a2', 'w2'], 'the reply to mho waits for a poll')
      const next = await req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=1`)
      assert.deepEqual(next.frames, ['s2', 'mho'])
      await r.stop()
    })

  it('a session id presented from a different origin is refused', async () => {
    const r = await start({ origins: '*' })
    const first = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, { Origin: 'https://a.example' })
    const sid = hello(first.frames).sid
    const other = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'mhi'], {
      Origin: 'https://b.example',
    })
    assert.equal(other.status, 200)
    assert.deepEqual(other.frames, ['c3901 session unknown or expired'])
    const poll = await req(r.port, 'GET', `v=2&t=polling&sid=${sid}&ack=0`, undefined, { Origin: 'https://b.example' })
    assert.match(poll.frames[0] as string, /^c3901/)
    await r.stop()
  })

  it('bad requests get 400; unknown paths are left to the app', async () => {
    const r = await start()
    for (const q of [
      '',
      'v=3&t=polling',
      'v=0&t=polling',
      'v=2&t=carrier',
      'v=2&t=polling&sid=short',
      'v=2&t=polling&ack=-1',
      'v=2&t=polling&ack=1.5',
    ])
      assert.equal((await req(r.port, 'GET', q)).status, 400, q)
    await r.stop()
  })

  // and a refusal is a close with its reason
  it('authenticate: runs before any session exists, reads the token', async () => {
    const seen: Array<string | null> = []
    const r = await start({
      authenticate: (_req, token) => {
        seen.push(token)
        return token == 'good' ? { ok: true, data: { user: 'ann' } } : { ok: false, reason: 'bad token' }
      },
    })
    const no = ws(r.port, 'v=2&t=websocket&ack=0&o=1&token=nope')
    await no.until((f) => f === 'c1008 bad token')
    assert.equal(r.ll.sessions.size, 0, 'no session was made')
    const yes = ws(r.port, 'v=2&t=websocket&ack=0&o=1&token=good')
    await yes.hello()
    yes.sock.send('u1')
    yes.sock.send('s1')
    await until(() => r.sessions.length == 1)
    assert.deepEqual(r.sessions[0].data, { user: 'ann' })
    const hdr = ws(r.port, 'v=2&t=websocket&ack=0&o=1', { Authorization: 'Bearer good' })
    await hdr.hello()
    const cookie = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1', undefined, {
      Cookie: 'a=b; lifeline_token=good',
    })
    assert.equal(hello(cookie.frames).v, 2)
    assert.deepEqual(seen, ['nope', 'good', 'good', 'good'])
    await r.stop()
  })

  it('broadcast reaches every confirmed session; sessions are listed', async () => {
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

  it('close() shuts every session with 1001 so clients start anew elsewhere; a cluster node drains', async () => {
    const r = await start()
    const c = ws(r.port)
    await c.hello()
    c.sock.send('u1')
    await until(() => r.sessions.length == 1)
    r.ll.close()
    if (store == 'memory') await c.until((f) => typeof f == 'string' && f.startsWith('c1001'))
    else {
      // docs/scaling.md "Deploys": the session goes on, on the other nodes; its link is dropped without a word.
      await c.closed
      assert.ok(!c.frames.some((f) => typeof f == 'string' && f[0] == 'c'), JSON.stringify(c.frames))
    }
    r.server.close()
  })

  // (browsers send no Origin there) is bound to the first Origin that shows up
  it('regression: a session made by a same-origin GET', async () => {
    const r = await start({ origins: ['https://app.example'] })
    const first = await req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1')
    const sid = hello(first.frames).sid
    const post = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'p'], {
      Origin: 'https://app.example',
    })
    assert.equal(post.status, 200)
    const other = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'p'], {
      Origin: 'https://elsewhere.example',
    })
    assert.equal(other.status, 403, 'not an allowed origin at all')
    await r.stop()
    const any = await start({ origins: '*' })
    const g = await req(any.port, 'GET', 'v=2&t=polling&ack=0&o=1')
    const sid2 = hello(g.frames).sid
    assert.equal(
      (await req(any.port, 'POST', `v=2&t=polling&sid=${sid2}&ack=0`, ['s1', 'p'], { Origin: 'https://a.example' }))
        .status,
      200,
    )
    const b = await req(any.port, 'POST', `v=2&t=polling&sid=${sid2}&ack=0`, ['s1', 'p'], {
      Origin: 'https://b.example',
    })
    assert.deepEqual(b.frames, ['c3901 session unknown or expired'])
    assert.equal(b.status, 200, 'bound to a.example now: refused in the body')
    await any.stop()
  })

  // Protocol version 2 moved Lifeline's own close codes to 3900-3999 (PROTOCOL.md §7.1); a version 1
  // client still gets the numbers it knows, and an app's own code as it is.
  it('a version 1 client gets the version 1 close codes, version 2 the new ones; app codes as they are', async () => {
    const r = await start({ maxSessionsPerAddress: 1 })
    const unknown = (v: number) => req(r.port, 'GET', `v=${v}&t=polling&ack=0&o=1&sid=${'A'.repeat(22)}`)
    assert.deepEqual((await unknown(1)).frames, ['c4001 session unknown or expired'])
    assert.deepEqual((await unknown(2)).frames, ['c3901 session unknown or expired'])
    const first = ws(r.port, 'v=1&t=websocket&ack=0&o=1')
    await first.hello()
    const full = ws(r.port, 'v=1&t=websocket&ack=0&o=1')
    assert.equal(
      await full.until((f) => typeof f == 'string' && f[0] == 'c'),
      'c4029 too many sessions from this address',
    )
    first.sock.send('p')
    await until(() => r.sessions.length == 1 && !!r.sessions[0]._store._heard)
    r.sessions[0].close(4001, 'unauthorized')
    assert.equal(await first.until((f) => typeof f == 'string' && f[0] == 'c'), 'c4001 unauthorized')
    await r.stop()
  })

  it("session.close() refuses Lifeline's own codes, codes a WebSocket may not send, and long reasons", async () => {
    const r = await start()
    const c = ws(r.port)
    await c.hello()
    c.sock.send('p')
    await until(() => r.sessions.length == 1 && !!r.sessions[0]._store._heard)
    const s = r.sessions[0]
    const code = (fn: () => void) => {
      try {
        fn()
      } catch (e) {
        return (e as { code?: string }).code
      }
      return 'no error'
    }
    for (const bad of [3900, 3901, 3999, 1005, 1006, 999, 5000, 4000.5])
      assert.equal(
        code(() => s.close(bad, 'x')),
        'LL_ERR_INVALID_OPTION',
        String(bad),
      )
    assert.equal(
      code(() => s.close(4000, 'é'.repeat(62))),
      'LL_ERR_INVALID_OPTION',
      '124 bytes of reason',
    )
    assert.equal(s.closed, false, 'a refused close changes nothing')
    assert.equal(
      code(() => s.close(4000, 'é'.repeat(61) + 'x')),
      'no error',
      'exactly 123 bytes',
    )
    assert.equal(await c.until((f) => typeof f == 'string' && f[0] == 'c'), 'c4000 ' + 'é'.repeat(61) + 'x')
    await r.stop()
  })

  // Issue 20: GET answered an unknown session with 200 and the close frame in the body, POST with 404.
  it('an unknown session id gets 200 with the in-band close on GET and on POST alike', async () => {
    const r = await start()
    const sid = 'A'.repeat(22)
    const get = await req(r.port, 'GET', `v=2&t=polling&ack=0&o=1&sid=${sid}`)
    const post = await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'p'])
    const stream = await req(r.port, 'POST', `v=2&t=stream&sid=${sid}&ack=0`, ['s1', 'mhi'])
    for (const [name, got] of Object.entries({ get, post, stream })) {
      assert.equal(got.status, 200, name)
      assert.equal(got.headers['content-type'], 'application/octet-stream', name)
      assert.deepEqual(got.frames, ['c3901 session unknown or expired'], name)
    }
    // An ended session: its close code, on POST as on GET.
    const ended = await pollSession(r.port)
    r.sessions[0].close(4003, 'kicked')
    const late = await req(r.port, 'POST', `v=2&t=polling&sid=${ended}&ack=0`, ['s1', 'p'])
    assert.equal(late.status, 200)
    assert.deepEqual(late.frames, ['c4003 kicked'])
    await r.stop()
  })

  // Issue 20: in the `connection` handler a polling session's `transport` was null (the proof ping
  // comes in a POST, between two polls), while websocket and stream sessions had theirs.
  it("session.transport is set in the server's connection handler on every transport, polling included", async () => {
    for (const t of ['polling', 'stream', 'websocket'] as const) {
      const r = await start()
      const seen: Array<string | null> = []
      r.ll.on('connection', (s) => seen.push(s.transport))
      if (t == 'websocket') (await wsSession(r.port)).sock.send('p')
      else await pollSession(r.port, t)
      await until(() => seen.length == 1, 5000, t + ' connection')
      assert.deepEqual(seen, [t])
      await r.stop()
    }
  })

  // Silent past heartbeat plus heartbeatTimeout, it has none.
  it('a polling session between two polls keeps its transport until the client goes silent', async () => {
    const r = await start({ heartbeatTimeout: 1000, sweepInterval: 100 })
    const sid = await new Promise<string>((res) => {
      req(r.port, 'GET', 'v=2&t=polling&ack=0&o=1&hb=1000', undefined, {}, (fs) => fs[0] && res(hello(fs).sid))
    })
    await req(r.port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'u1', 'p'])
    const s = r.ll.sessions.get(sid)!
    assert.equal(s.transport, 'polling', 'between polls')
    const t0 = Date.now()
    await until(() => s.transport == null, 5000, 'transport null once silent')
    assert.ok(Date.now() - t0 >= 1500, 'not before heartbeat + heartbeatTimeout (2 s from the last request)')
    await r.stop()
  })
})

/** Run `fn` with console's four methods recording into the array given (as `level args…`), then restore them. */
async function withConsole(fn: (lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = []
  const saved = { debug: console.debug, info: console.info, warn: console.warn, error: console.error }
  Object.assign(console, recorder(lines))
  try {
    await fn(lines)
  } finally {
    Object.assign(console, saved)
  }
}

// Nothing anywhere: the default logger was none (issue 28).
test('by default the server logs to console at warn: a handler that threw, a refused origin', async () => {
  await withConsole(async (lines) => {
    const r = await start({ logger: undefined, origins: undefined })
    const sid = await throwingHandlers(r)
    await assert.rejects(ws(r.port, undefined, { Origin: 'https://evil.example' }).opened, /403/)
    await assert.rejects(ws(r.port, undefined, { Origin: 'https://evil.example' }).opened, /403/)
    await until(() => lines.length >= 3)
    assert.equal(
      lines.filter((l) => /^warn \[lifeline\] connection handler threw: Error: app bug in connection/.test(l)).length,
      1,
    )
    assert.equal(
      lines.filter((l) => /^warn \[lifeline\] message handler threw: Error: app bug in message/.test(l)).length,
      1,
    )
    assert.equal(
      lines.filter((l) => /^warn \[lifeline\] .*https:\/\/evil\.example/.test(l)).length,
      1,
      'once per origin',
    )
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('warn ')),
      [],
      'nothing below warn',
    )
    assert.ok(
      lines.every((l) => !l.includes(sid)),
      'no session id below debug',
    )
    await r.stop()
  })
})

test('logLevel picks what goes out (session ids only at debug); logger null silences it', async () => {
  await withConsole(async (lines) => {
    const r = await start({ logger: undefined, logLevel: 'debug' })
    const { sid } = await ws(r.port).hello()
    await until(() => lines.some((l) => l.includes(sid)))
    assert.match(
      lines.find((l) => l.includes(sid))!,
      /^debug \[lifeline\] session created /,
    )
    await r.stop()
    lines.length = 0
    for (const quiet of [{ logger: null }, { logger: undefined, logLevel: 'silent' as const }]) {
      const q = await start({ ...quiet, maxSessions: 1 })
      q.ll.on('connection', () => {
        throw new Error('app bug')
      })
      await ws(q.port).hello()
      assert.match((await ws(q.port).until((f) => typeof f == 'string')) as string, /^c1013/)
      await q.stop()
    }
    assert.deepEqual(lines, [])
  })
})
