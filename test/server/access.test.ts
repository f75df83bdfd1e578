// Who may use the server: origins on every transport, CORS, authenticate on every connection
// that opens or resumes a session, session ids, and what the logs may show; in one process and on a
// one-node cluster over Redis (stores.ts).
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import WebSocket from 'ws'
import { Lifeline } from '../../src/client/index'
import { linkOf, start, stopAll, tcp, ws, req, hello, until, wsSession } from './raw'
import { eachStoreButCluster } from './stores'
import { positions } from '../../src/server/access'

// A failed assertion must not leave a server holding the run open.
after(stopAll)

const POLL = 'v=2&t=polling&ack=0&o=1'
const STREAM = 'v=2&t=stream&ack=0&o=1'

/** Every way in: WebSocket upgrade, stream GET, poll GET, POST, preflight. Resolves to their statuses. */
async function everyWay(port: number, origin: string, sid: string, headers: Record<string, string> = {}) {
  const h = { ...headers, Origin: origin }
  const w = ws(port, undefined, h)
  const wsStatus = await w.opened.then(
    () => (w.sock.close(), 101),
    (e: Error) => +(/(\d{3})/.exec(e.message) || [0, 0])[1],
  )
  const stream = await new Promise<number>((res) => {
    const r = req(port, 'GET', STREAM, undefined, h, (fs) => void (fs.some((f) => f[0] == 'o') && res(200)))
    r.then(
      (x) => res(x.status),
      () => res(0),
    )
  })
  const poll = await req(port, 'GET', POLL, undefined, h)
  const post = await req(port, 'POST', `v=2&t=polling&sid=${sid}&ack=0`, ['s1', 'p'], h)
  const pre = await req(port, 'OPTIONS', 'v=2&t=polling', undefined, { ...h, 'Access-Control-Request-Method': 'POST' })
  return {
    ws: wsStatus,
    stream,
    poll: poll.status,
    post: post.status,
    preflight: pre.status,
    cors: [poll, post, pre].map((r) => r.headers['access-control-allow-origin']),
  }
}

// Origins, CORS, authentication and ids are checked before the store is asked: not again on a Redis Cluster.
eachStoreButCluster(() => {
  // a refused origin gets 403 and no CORS headers but `*`, without credentials, so it can read why
  it('origins: an allow-list is enforced on every transport', async () => {
    const r = await start({ origins: ['https://app.example'] })
    const sid = hello((await req(r.port, 'GET', POLL)).frames).sid
    const ok = await everyWay(r.port, 'https://app.example', sid)
    assert.deepEqual([ok.ws, ok.stream, ok.poll, ok.post, ok.preflight], [101, 200, 200, 200, 204])
    assert.deepEqual(ok.cors, ['https://app.example', 'https://app.example', 'https://app.example'])
    for (const evil of [
      'https://evil.example',
      'https://app.example.evil.example',
      'http://app.example',
      'null',
      'https://app.example.',
    ]) {
      const no = await everyWay(r.port, evil, sid)
      assert.deepEqual([no.ws, no.stream, no.poll, no.post, no.preflight], [403, 403, 403, 403, 403], evil)
      assert.deepEqual(no.cors, ['*', '*', undefined], evil)
    }
    // An HTTP refusal says 1008 in a body the client reads, so it ends rather than retrying.
    for (const [m, q] of [
      ['GET', POLL],
      ['GET', STREAM],
      ['POST', `v=2&t=polling&sid=${sid}&ack=0`],
    ]) {
      const no = await req(r.port, m, q, m == 'POST' ? ['s1'] : undefined, { Origin: 'https://evil.example' })
      assert.deepEqual(
        [no.status, no.frames, no.headers['access-control-allow-credentials']],
        [403, ['c1008 origin not allowed: https://evil.example is not in origins'], undefined],
        q,
      )
    }
    await r.stop()
  })

  it('a client whose origin is refused ends with 1008 instead of retrying forever', async () => {
    const r = await start({ origins: ['https://app.example'] })
    const tries: string[] = []
    const fetchAs = (origin: string) => (url: RequestInfo | URL, init?: RequestInit) => (
      tries.push(String(url)),
      fetch(url, { ...init, headers: { ...(init && (init.headers as object)), Origin: origin } })
    )
    const ll = new Lifeline(`http://127.0.0.1:${r.port}/rt`, {
      transports: ['polling'],
      storage: null,
      fetch: fetchAs('https://evil.example'),
      minDelay: 10,
      maxDelay: 20,
    })
    const errors: string[] = []
    ll.on('error', (e) => errors.push(e.code))
    const closed = await new Promise<{ code: number; reason: string }>((res) => ll.on('close', (e) => res(e)))
    assert.deepEqual([closed.code, closed.reason], [1008, 'origin not allowed: https://evil.example is not in origins'])
    assert.equal(tries.length, 1, 'one request, no retries: ' + tries.length)
    assert.equal(r.ll.sessions.size, 0)
    // The same client code from an allowed origin gets in.
    const ok = new Lifeline(`http://127.0.0.1:${r.port}/rt`, {
      transports: ['polling'],
      storage: null,
      fetch: fetchAs('https://app.example'),
    })
    await new Promise((res) => ok.on('open', res))
    ok.close()
    await r.stop()
  })

  // the session carries on, the server emits 'error' and stays up
  it("an app's connection handler that throws", async () => {
    const r = await start()
    const errors: Error[] = []
    r.ll.on('error', (e) => errors.push(e))
    r.ll.on('connection', () => {
      throw new Error('app bug in connection handler')
    })
    const c = await wsSession(r.port)
    c.sock.send('mhello')
    await c.until((f) => f == 'mhello')
    assert.deepEqual(
      errors.map((e) => e.message),
      ['app bug in connection handler'],
    )
    // Without an 'error' listener the throw is only logged: the process does not die either.
    r.ll.removeAllListeners('error')
    const d = await wsSession(r.port)
    d.sock.send('mstill')
    await d.until((f) => f == 'mstill')
    await r.stop()
  })

  // ports and schemes are not compared (Phoenix's check_origin): nginx `Host $host` drops the port
  it('origins by default (as in the README): the same host name, any port, on every transport', async () => {
    const logged: string[] = []
    const logger = { debug() {}, info() {}, warn: (...a: unknown[]) => logged.push(a.join(' ')), error() {} }
    const r = await start({ origins: undefined, logger })
    const fresh = async () => hello((await req(r.port, 'GET', POLL)).frames).sid
    const allOk = [101, 200, 200, 200, 204]
    for (const same of [`http://127.0.0.1:${r.port}`, `http://127.0.0.1:${r.port + 1}`, 'https://127.0.0.1']) {
      const got = await everyWay(r.port, same, await fresh())
      assert.deepEqual([got.ws, got.stream, got.poll, got.post, got.preflight], allOk, same)
    }
    // What nginx `proxy_set_header Host $host;` sends: the port is gone, the page's origin has it.
    const dropped = await everyWay(r.port, 'http://127.0.0.1:8080', await fresh(), { Host: '127.0.0.1' })
    assert.deepEqual([dropped.ws, dropped.stream, dropped.poll, dropped.post, dropped.preflight], allOk)
    // Cross-site WebSocket hijacking: another site's page, even one on loopback, gets nothing.
    const sid = await fresh()
    const before = r.ll.sessions.size
    for (const other of [`http://localhost:${r.port}`, 'null', 'https://evil.example', 'not a url']) {
      const no = await everyWay(r.port, other, sid)
      assert.deepEqual([no.ws, no.stream, no.poll, no.post, no.preflight], [403, 403, 403, 403, 403], other)
    }
    const no = await req(r.port, 'GET', POLL, undefined, { Origin: `http://localhost:${r.port}` })
    assert.deepEqual(no.frames, [
      `c1008 origin not allowed: not the Host; forward Host, or origins: ['http://localhost:${r.port}']`,
    ])
    // Once per origin, however many ways it came in, saying what was compared and what fixes it.
    const about = logged.filter((l) => l.includes(`"http://localhost:${r.port}"`))
    assert.equal(about.length, 1, about.join('\n'))
    assert.match(
      about[0],
      /^\[lifeline\] origin refused: the page's host "localhost" .* is not the server's: Host "127\.0\.0\.1:\d+";/,
    )
    assert.match(
      about[0],
      /proxy_set_header Host \$host.*ProxyPreserveHost On.*trustProxy.*origins: \["http:\/\/localhost:\d+"\]/,
    )
    assert.equal(r.ll.sessions.size, before, 'no session for another site')
    await r.stop()
  })

  // Apache's default (ProxyPreserveHost Off) sends the upstream's address as Host, the public one
  // as X-Forwarded-Host: the server cannot know which to believe unless told it is behind a proxy.
  // X-Forwarded-Host and Forwarded count only with trustProxy
  it('origins by default behind a Host-rewriting proxy', async () => {
    const behind = { Host: '127.0.0.1:3000', 'X-Forwarded-Host': 'app.example:8443', 'X-Forwarded-For': '192.0.2.1' }
    const page = 'https://app.example:8443'
    const plain = await start({ origins: undefined })
    const no = await everyWay(plain.port, page, hello((await req(plain.port, 'GET', POLL)).frames).sid, behind)
    assert.deepEqual([no.ws, no.stream, no.poll, no.post, no.preflight], [403, 403, 403, 403, 403])
    const why = await req(plain.port, 'GET', POLL, undefined, { ...behind, Origin: page })
    assert.deepEqual(why.frames, [
      `c1008 origin not allowed: X-Forwarded-Host untrusted; set trustProxy, or origins: ['${page}']`,
    ])
    await plain.stop()
    const trusting = await start({ origins: undefined, trustProxy: true })
    for (const headers of [
      behind,
      { Host: 'backend:3000', Forwarded: 'for=192.0.2.1;host="app.example:8443";proto=https' },
    ]) {
      const sid = hello((await req(trusting.port, 'GET', POLL)).frames).sid
      const ok = await everyWay(trusting.port, page, sid, headers)
      assert.deepEqual([ok.ws, ok.stream, ok.poll, ok.post, ok.preflight], [101, 200, 200, 200, 204], headers.Host)
      const evil = await everyWay(trusting.port, 'https://evil.example', sid, headers)
      assert.deepEqual([evil.ws, evil.stream, evil.poll, evil.post, evil.preflight], [403, 403, 403, 403, 403])
    }
    await trusting.stop()
  })

  // a refused upgrade has no HTTP parser left to handle its socket's errors
  it('regression: a client resetting its connection after a refused WebSocket upgrade crashed the server', async () => {
    const r = await start({ origins: ['https://app.example'] })
    const crashes: Error[] = []
    const crash = (e: Error) => crashes.push(e)
    process.on('uncaughtException', crash)
    try {
      for (const [origin, query] of [
        ['https://evil.example', 'v=2&t=websocket&ack=0&o=1'],
        ['https://app.example', 'v=9&t=websocket'],
      ])
        for (let i = 0; i < 5; i++) {
          const c = tcp(r.port)
          await c.opened
          // Reset the moment the answer arrives, while the server's socket is still open.
          const answer = new Promise<string>((res) =>
            c.sock.once('data', (d) => (c.sock.resetAndDestroy(), res(String(d)))),
          )
          c.sock.write(
            `GET /rt?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${origin}\r\nUpgrade: websocket\r\n` +
              'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          )
          assert.match(await answer, /^HTTP\/1\.1 (403|400) /)
          await c.closed
        }
      // The RST reaches the server's socket a moment later: a round trip on a fresh connection is after it.
      const ok = await req(r.port, 'GET', POLL, undefined, { Origin: 'https://app.example' })
      assert.equal(ok.status, 200)
      assert.deepEqual(crashes, [])
    } finally {
      process.off('uncaughtException', crash)
    }
    await r.stop()
  })

  // (403) instead of crashing the server
  it('regression: an origins function that throws refuses the request', async () => {
    const seen: string[] = []
    const r = await start({
      origins: (origin) => {
        seen.push(origin)
        if (origin == 'https://boom.example') throw new Error('app bug')
        return origin == 'https://app.example'
      },
    })
    const sid = hello((await req(r.port, 'GET', POLL)).frames).sid
    const boom = await everyWay(r.port, 'https://boom.example', sid)
    assert.deepEqual([boom.ws, boom.stream, boom.poll, boom.post, boom.preflight], [403, 403, 403, 403, 403])
    const ok = await everyWay(r.port, 'https://app.example', sid)
    assert.deepEqual([ok.ws, ok.poll, ok.post], [101, 200, 200])
    assert.ok(seen.includes('https://app.example'))
    await r.stop()
  })

  // and never with "*"
  it('CORS: whatever the origin, credentials are allowed only for an origin the configuration allows', async () => {
    const origins = [
      'https://a.example',
      'https://b.example',
      'null',
      'http://127.0.0.1',
      'https://a.example.b.example',
    ]
    for (const conf of [undefined, '*' as const, ['https://a.example'], (o: string) => o.endsWith('.b.example')]) {
      const r = await start({ origins: conf })
      for (const origin of origins) {
        const res = await req(r.port, 'GET', POLL, undefined, { Origin: origin })
        const acao = res.headers['access-control-allow-origin']
        const cred = res.headers['access-control-allow-credentials']
        if (conf == '*' || res.status == 403) assert.deepEqual([acao, cred], ['*', undefined], origin)
        else if (acao !== undefined) {
          assert.equal(acao, origin, 'only the request origin is echoed')
          assert.ok(
            Array.isArray(conf) ? conf.includes(origin) : conf ? conf(origin) : origin == 'http://127.0.0.1',
            `${origin} echoed under ${String(conf)}`,
          )
          assert.equal(res.headers.vary, 'Origin')
        } else assert.fail(`${origin} under ${String(conf)}: ${res.status} without CORS headers`)
      }
      await r.stop()
    }
  })

  // and the session is untouched meanwhile
  it('authenticate guards resumes: a revoked token cannot resume a session, a fresh one can', async () => {
    const valid = new Set(['t1'])
    const r = await start({
      authenticate: (_req, token) =>
        token && valid.has(token) ? { ok: true } : { ok: false, reason: 'token refused' },
    })
    const a = ws(r.port, POLL.replace('polling', 'websocket') + '&token=t1')
    const sid = (await a.hello()).sid
    a.sock.send('u1')
    await until(() => r.sessions.length == 1)
    a.sock.terminate()
    await until(() => r.sessions[0].transport == null)
    valid.delete('t1')
    for (const t of ['websocket', 'stream', 'polling']) {
      const q = `v=2&t=${t}&ack=0&o=1&sid=${sid}&token=t1`
      const first =
        t == 'websocket'
          ? await ws(r.port, q).until((f) => typeof f == 'string')
          : (await req(r.port, 'GET', q)).frames[0]
      assert.equal(first, 'c1008 token refused', t)
    }
    assert.equal(r.sessions[0].closed, false, 'a refused resume does not end the session')
    valid.add('t2')
    const b = ws(r.port, `v=2&t=websocket&ack=0&o=1&sid=${sid}&token=t2`)
    assert.equal((await b.hello()).sid, sid, 'resumed with the fresh token')
    await r.stop()
  })

  it('regression: a WebSocket or a GET without o=1 made a session without running authenticate', async () => {
    let calls = 0
    const r = await start({ authenticate: () => (calls++, { ok: false, reason: 'no' }) })
    const w = ws(r.port, 'v=2&t=websocket&ack=0')
    const f = await w.until((x) => typeof x == 'string' && (x[0] == 'o' || x[0] == 'c'))
    assert.equal(f, 'c1008 no')
    for (const t of ['stream', 'polling'])
      assert.deepEqual((await req(r.port, 'GET', `v=2&t=${t}&ack=0`)).frames, ['c1008 no'], t)
    assert.equal(calls, 3)
    assert.equal(r.ll.sessions.size, 0, 'no session was made')
    await r.stop()
  })

  it('session ids: 128 bits from a cryptographic source, each bit about as often 1 as 0', async () => {
    const r = await start()
    const ids = await Promise.all(
      Array.from({ length: 300 }, () => req(r.port, 'GET', POLL).then((x) => hello(x.frames).sid as string)),
    )
    assert.equal(new Set(ids).size, ids.length)
    const ones = new Array(128).fill(0)
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_-]{22}$/)
      const bytes = Buffer.from(id, 'base64url')
      assert.equal(bytes.length, 16)
      for (let i = 0; i < 128; i++) ones[i] += (bytes[i >> 3] >> (7 - (i & 7))) & 1
    }
    // 300 fair coin flips: 150 +- 6 sigma (52) for every one of the 128 bits.
    for (let i = 0; i < 128; i++) assert.ok(ones[i] > 98 && ones[i] < 202, `bit ${i} was 1 in ${ones[i]} of 300 ids`)
    await r.stop()
  })

  // a resume after the old token was revoked carries the new one
  it('the client refreshes its token for every connection', async () => {
    const valid = new Set<string>()
    const seen: Array<string | null> = []
    const r = await start({
      authenticate: (_req, token) => (
        seen.push(token),
        token && valid.has(token) ? { ok: true } : { ok: false, reason: 'token expired' }
      ),
    })
    let n = 0
    const token = () => {
      // Each new token revokes the ones before, as a short-lived credential would expire.
      valid.clear()
      valid.add('tok' + ++n)
      return 'tok' + n
    }
    const ll = new Lifeline(`http://127.0.0.1:${r.port}/rt`, {
      transports: ['websocket'],
      storage: null,
      WebSocket: WebSocket as never,
      token,
      minDelay: 10,
      maxDelay: 50,
    })
    const resets: unknown[] = []
    ll.on('reset', (e) => resets.push(e))
    await new Promise((res) => ll.on('open', res))
    const sid = ll.sessionId
    await until(() => r.sessions.length == 1 && r.sessions[0].transport == 'websocket')
    ;(linkOf(r, sid, 'websocket') as unknown as { ws: WebSocket }).ws.terminate()
    await until(() => seen.length == 2 && ll.state == 'open', 5000, 'resumed')
    assert.deepEqual(seen, ['tok1', 'tok2'])
    assert.equal(ll.sessionId, sid, 'the same session')
    assert.equal(resets.length, 0)
    // A token the server refuses on resume ends the client with the server's reason; no loop.
    valid.clear()
    const closed = new Promise<{ code: number; reason: string }>((res) => ll.on('close', (e) => res(e)))
    ll._session._options.token = 'stale'
    ;(linkOf(r, sid, 'websocket') as unknown as { ws: WebSocket }).ws.terminate()
    assert.deepEqual(await closed.then((e) => [e.code, e.reason]), [1008, 'token expired'])
    await r.stop()
  })

  it('session ids never reach the logs below debug: every path that logs, captured at each level', async () => {
    const lines: Record<string, string[]> = { debug: [], info: [], warn: [], error: [] }
    const logger = Object.fromEntries(
      Object.keys(lines).map((k) => [k, (...a: unknown[]) => lines[k].push(a.map((x) => inspect(x)).join(' '))]),
    ) as never
    const r = await start({
      logger,
      logLevel: 'debug',
      heartbeatInterval: 1000,
      heartbeatTimeout: 200,
      sessionTtl: 300,
      sweepInterval: 50,
      origins: (o) => (o == 'https://x.example' ? (null as never).x : true),
    })
    const sids: string[] = []
    r.ll.on('connection', (s) => s.on('message', (m) => m == 'throw' && (null as never as { x: 1 }).x))
    // Each transport: a session, a throwing message handler, then a protocol error naming the id.
    const c = ws(r.port)
    const h = await c.hello()
    sids.push(h.sid)
    for (const f of ['u1', 's1', 'mthrow', 'Z' + h.sid]) c.sock.send(f)
    await c.until((f) => typeof f == 'string' && f.startsWith('c1002'))
    for (const t of ['stream', 'polling']) {
      const sid = await new Promise<string>(
        (res) =>
          void req(
            r.port,
            'GET',
            `v=2&t=${t}&ack=0&o=1`,
            undefined,
            {},
            (fs) => fs.some((f) => f[0] == 'o') && res(hello(fs).sid),
          ),
      )
      sids.push(sid)
      const post = await req(r.port, 'POST', `v=2&t=${t}&sid=${sid}&ack=0`, ['s1', 'u1', 'mthrow', 'Z' + sid])
      assert.equal(post.status, 400)
    }
    const idle = ws(r.port)
    sids.push((await idle.hello()).sid)
    idle.sock.send('p')
    await idle.closed
    await req(r.port, 'GET', POLL, undefined, { Origin: 'https://x.example' })
    await until(() => r.ll.sessions.size == 0, 5000, 'every session expired')
    for (const id of r.ll.sessions.keys()) sids.push(id)
    assert.ok(lines.warn.length >= 3, 'warnings were logged: ' + lines.warn.length)
    assert.ok(
      lines.debug.some((l) => sids.some((id) => l.includes(id))),
      'debug does show ids (the check can see them)',
    )
    for (const level of ['info', 'warn', 'error'])
      for (const l of lines[level]) for (const id of sids) assert.ok(!l.includes(id), `${level}: ${l}`)
    await r.stop()
  })
})

it('room positions (`g`): whole numbers kept, the rest left out; malformed: none held; absent: an older client', () => {
  assert.equal(positions(null), undefined)
  assert.deepEqual([...positions('{}')!], [])
  assert.deepEqual(
    [...positions('{"a":3,"b":-1,"c":1.5,"d":"4","__proto__":7,"e":0}')!],
    [
      ['a', 3],
      ['__proto__', 7],
      ['e', 0],
    ],
  )
  assert.deepEqual([...positions('{"a":')!], [])
  assert.deepEqual([...positions('[5]')!], [])
})
