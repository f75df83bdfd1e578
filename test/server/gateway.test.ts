// Gateway mode on real loopback sockets: a Lifeline client in Node, a gateway LifelineServer and
// a plain `ws` server as the upstream.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import WS, { WebSocketServer, type WebSocket } from 'ws'
import { Lifeline, LifelineError, type Clock, type LifelineEvents, type LifelineOptions } from '../../src/client/index'
import { _relays } from '../../src/server/gateway'
import { LifelineServer, type ServerOptions, type ServerSession } from '../../src/server/index'
import { recorder } from './raw'

const TRANSPORTS = ['websocket', 'stream', 'polling'] as const
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

const listen = (server: http.Server) =>
  new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)))

/** A plain ws server; `echo` echoes with the type it got. Records every connection. */
async function upstream(behaviour: 'echo' | 'quiet' = 'echo') {
  const server = http.createServer()
  const wss = new WebSocketServer({ server })
  const conns: Array<{
    ws: WebSocket
    headers: http.IncomingHttpHeaders
    got: Array<[string, boolean]>
    closed?: [number, string]
  }> = []
  wss.on('connection', (ws, req) => {
    const c = {
      ws,
      headers: req.headers,
      got: [] as Array<[string, boolean]>,
      closed: undefined as [number, string] | undefined,
    }
    conns.push(c)
    ws.on('message', (d: Buffer, binary) => {
      c.got.push([binary ? 'bin:' + [...d].join(',') : d.toString(), binary])
      if (behaviour == 'echo') ws.send(d, { binary })
    })
    ws.on('close', (code, reason) => (c.closed = [code, reason.toString()]))
  })
  const port = await listen(server)
  cleanups.push(() => new Promise((r) => (wss.clients.forEach((w) => w.terminate()), wss.close(), server.close(r))))
  return { url: `ws://127.0.0.1:${port}/echo`, port, server, conns }
}

async function gateway(up: ServerOptions['upstream'], opts: ServerOptions = {}) {
  const server = http.createServer()
  const ll = new LifelineServer({ server, path: '/rt', upstream: up, logger: recorder([]), ...opts })
  const port = await listen(server)
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))))
  cleanups.push(() => new Promise((r) => (ll.close(), sockets.forEach((s) => s.destroy()), server.close(r))))
  const session = () => [...ll.sessions.values()].find((s) => s._store._heard) as ServerSession
  return { url: `http://127.0.0.1:${port}/rt`, ll, session }
}

/** Reconnections fail while `gate.closed`: the browser is away. */
const gate = { closed: false }
class GatedWS extends WS {
  constructor(url: string, protocols?: string | string[]) {
    super(gate.closed ? 'ws://127.0.0.1:1/' : url, protocols, {
      headers: { cookie: 'sid=abc', authorization: 'Bearer t0k' },
    })
    // A browser's WebSocket reports a failure by events; ws would throw without a listener.
    this.on('error', () => {})
  }
}

/** Real timers that do not keep the test process alive (close() leaves a 20 s fallback timer). */
const clock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  now: () => Date.now(),
}

function connect(url: string, t: string, opts: LifelineOptions = {}): Lifeline {
  const ll = new Lifeline(url, {
    WebSocket: GatedWS as unknown as typeof WebSocket,
    transports: [t as 'websocket'],
    storage: null,
    minDelay: 50,
    maxDelay: 300,
    clock,
    ...opts,
  })
  ll.binaryType = 'arraybuffer'
  cleanups.push(() => ll.readyState < 2 && ll.close())
  return ll
}

function next<K extends keyof LifelineEvents>(ll: Lifeline, ev: K, ms = 10000): Promise<LifelineEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} within ${ms} ms (state ${ll.state})`)), ms)
    ll.once(ev, ((e: LifelineEvents[K][0]) => (clearTimeout(t), resolve(e))) as never)
  })
}

/** The next `n` messages as 'text' or 'bin:1,2,3'. */
function messages(ll: Lifeline, n: number, ms = 10000): Promise<string[]> {
  const got: string[] = []
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages within ${ms} ms`)), ms)
    const fn = (e: { data: unknown }) => {
      got.push(typeof e.data == 'string' ? e.data : 'bin:' + [...new Uint8Array(e.data as ArrayBuffer)].join(','))
      if (got.length == n) (clearTimeout(t), ll.off('message', fn), resolve(got))
    }
    ll.on('message', fn)
  })
}

async function until(cond: () => boolean, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(what + ' not met within ' + ms + ' ms')
    await new Promise((r) => setTimeout(r, 10))
  }
}

for (const t of TRANSPORTS) {
  describe(`gateway over ${t}`, () => {
    it('relays text and binary both ways with their type and order intact', async () => {
      const up = await upstream()
      const gw = await gateway(up.url)
      const ll = connect(gw.url, t)
      const sent = ['one', 'bin:0,1,255', '', 'bin:', 'Ünïcödé 😀', 'bin:7']
      for (const m of sent)
        ll.send(m.startsWith('bin:') ? new Uint8Array(m.length > 4 ? m.slice(4).split(',').map(Number) : []) : m)
      assert.deepEqual(await messages(ll, sent.length), sent)
      assert.deepEqual(
        up.conns[0].got.map(([, b]) => b),
        [false, true, false, true, false, true],
      )
      assert.equal(up.conns.length, 1)
    })

    it('holds messages sent before the upstream is open and relays them in order', async () => {
      const up = await upstream()
      let release!: () => void
      const opened = new Promise<void>((r) => (release = r))
      const gw = await gateway(async () => (await opened, up.url))
      const ll = connect(gw.url, t)
      const sent = Array.from({ length: 30 }, (_, i) => 'early ' + i)
      for (const m of sent) ll.send(m)
      await until(() => !!gw.session(), 5000, 'session confirmed')
      release()
      assert.deepEqual(await messages(ll, 30), sent)
    })

    it('passes an upstream close code and reason to the page, after the messages before it', async () => {
      const up = await upstream()
      const gw = await gateway(up.url)
      const ll = connect(gw.url, t)
      ll.send('hi')
      await messages(ll, 1)
      const closed = next(ll, 'close')
      const got = messages(ll, 2)
      up.conns[0].ws.send('last')
      up.conns[0].ws.send('words')
      up.conns[0].ws.close(4321, 'bye')
      assert.deepEqual(await got, ['last', 'words'])
      const e = await closed
      assert.deepEqual([e.code, e.reason], [4321, 'bye'])
    })
  })
}

describe('gateway', () => {
  it('closes with 3952 and a clear reason when the upstream refuses connections', async () => {
    const gw = await gateway('ws://127.0.0.1:1/nothing-here')
    const ll = connect(gw.url, 'websocket')
    const e = await next(ll, 'close')
    assert.equal(e.code, 3952)
    assert.match(e.reason, /upstream unreachable: connection refused/)
  })

  it('closes with 3952 naming the status when the upstream refuses the handshake', async () => {
    const server = http.createServer((req, res) => (res.writeHead(403), res.end()))
    server.on('upgrade', (req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'))
    const port = await listen(server)
    cleanups.push(() => new Promise((r) => server.close(r)))
    const gw = await gateway(`ws://127.0.0.1:${port}/`)
    const ll = connect(gw.url, 'polling')
    const e = await next(ll, 'close')
    assert.deepEqual([e.code, e.reason], [3952, 'upstream refused the WebSocket handshake: HTTP 403'])
  })

  it('closes with 3953 when the upstream connection is lost, and 3953 for an upstream 1001', async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const a = connect(gw.url, 'websocket')
    const b = connect(gw.url, 'stream')
    a.send('x')
    b.send('y')
    await Promise.all([messages(a, 1), messages(b, 1)])
    const [ca, cb] = [next(a, 'close'), next(b, 'close')]
    up.conns.find((c) => c.got[0][0] == 'x')!.ws.terminate()
    up.conns.find((c) => c.got[0][0] == 'y')!.ws.close(1001, 'restarting')
    const [ea, eb] = await Promise.all([ca, cb])
    assert.equal(ea.code, 3953)
    assert.match(ea.reason, /^upstream connection lost/)
    assert.deepEqual([eb.code, eb.reason], [3953, 'upstream closed 1001: restarting'])
  })

  // Regression (issue 15): version 1 took 4000-4002 and 4029 as Lifeline's own, so an upstream's
  // "unauthorized" 4001 became a silent new session.
  it("passes the app's 4000-4999 as they are, and turns Lifeline's own 3900-3999 into 3953", async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const a = connect(gw.url, 'websocket')
    const b = connect(gw.url, 'polling')
    a.send('a')
    b.send('b')
    await Promise.all([messages(a, 1), messages(b, 1)])
    const [ca, cb] = [next(a, 'close'), next(b, 'close')]
    up.conns.find((c) => c.got[0][0] == 'a')!.ws.close(4001, 'unauthorized')
    up.conns.find((c) => c.got[0][0] == 'b')!.ws.close(3901, 'looks like ours')
    const [ea, eb] = await Promise.all([ca, cb])
    assert.deepEqual([ea.code, ea.reason], [4001, 'unauthorized'])
    assert.deepEqual([eb.code, eb.reason], [3953, 'upstream closed 3901: looks like ours'])
  })

  it('reports an upstream close without a code as 1005, and an oversized upstream message as 1009', async () => {
    const up = await upstream()
    const gw = await gateway(up.url, { maxMessageSize: 1000 })
    const a = connect(gw.url, 'websocket')
    const b = connect(gw.url, 'polling')
    a.send('a')
    b.send('b')
    await Promise.all([messages(a, 1), messages(b, 1)])
    const [ca, cb] = [next(a, 'close'), next(b, 'close')]
    up.conns.find((c) => c.got[0][0] == 'a')!.ws.close()
    up.conns.find((c) => c.got[0][0] == 'b')!.ws.send('z'.repeat(1001))
    assert.deepEqual([(await ca).code, (await ca).reason], [1005, ''])
    assert.deepEqual([(await cb).code, (await cb).reason], [1009, 'upstream message over maxMessageSize 1000'])
  })

  it('closes with 3953 when the upstream stops answering pings', async () => {
    const server = http.createServer()
    new WebSocketServer({ server, autoPong: false })
    const port = await listen(server)
    cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))))
    const gw = await gateway(`ws://127.0.0.1:${port}/`, { heartbeatInterval: 200 })
    const ll = connect(gw.url, 'websocket')
    const e = await next(ll, 'close', 5000)
    assert.deepEqual([e.code, e.reason], [3953, 'upstream connection lost: no answer to ping'])
  })

  it('closes the upstream with the page close code and reason', async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const ll = connect(gw.url, 'polling')
    ll.send('x')
    await messages(ll, 1)
    ll.close(4100, 'done here')
    await until(() => !!up.conns[0].closed, 5000, 'upstream saw the close')
    assert.deepEqual(up.conns[0].closed, [4100, 'done here'])
  })

  // only the given headers otherwise
  it('forwards cookie, authorization, origin and X-Forwarded-For by default', async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const ll = connect(gw.url, 'websocket')
    ll.send('x')
    await messages(ll, 1)
    const h = up.conns[0].headers
    assert.deepEqual([h.cookie, h.authorization, h['x-forwarded-for']], ['sid=abc', 'Bearer t0k', '127.0.0.1'])
    const gw2 = await gateway((s) => ({ url: up.url + '?user=' + s.headers.cookie, headers: { 'x-token': 'mine' } }))
    const ll2 = connect(gw2.url, 'websocket')
    ll2.send('y')
    await messages(ll2, 1)
    const h2 = up.conns[1].headers
    assert.deepEqual([h2.cookie, h2.authorization, h2['x-token']], [undefined, undefined, 'mine'])
    assert.throws(() => new LifelineServer({ upstream: 'http//nope' }), /not a ws:\/\/ or wss:\/\/ URL/)
    const gw3 = await gateway(() => 'ftp://secret-token@host/', { logger: null })
    const e = await next(connect(gw3.url, 'websocket'), 'close')
    assert.deepEqual([e.code, e.reason], [3952, 'upstream misconfigured'])
  })

  it('keeps the upstream open while the page is away and delivers what it sent on resume', async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const ll = connect(gw.url, 'websocket')
    ll.send('hello')
    await messages(ll, 1)
    const sid = ll.sessionId
    gate.closed = true
    cleanups.push(() => (gate.closed = false))
    ;(gw.session()._store._links.websocket as unknown as { ws: WebSocket }).ws.terminate()
    await next(ll, 'reconnecting')
    for (let i = 0; i < 5; i++) up.conns[0].ws.send('while away ' + i)
    ll.send('queued')
    await until(() => gw.session().bufferedAmount > 0, 5000, 'session holding upstream messages')
    const got = messages(ll, 6)
    gate.closed = false
    assert.deepEqual(await got, [
      'while away 0',
      'while away 1',
      'while away 2',
      'while away 3',
      'while away 4',
      'queued',
    ])
    assert.equal(ll.sessionId, sid, 'same session')
    assert.equal(up.conns.length, 1, 'same upstream connection')
  })

  it('delivers what the upstream sent before closing though the page was away then', async () => {
    const up = await upstream()
    const gw = await gateway(up.url)
    const ll = connect(gw.url, 'websocket')
    ll.send('hello')
    await messages(ll, 1)
    gate.closed = true
    cleanups.push(() => (gate.closed = false))
    ;(gw.session()._store._links.websocket as unknown as { ws: WebSocket }).ws.terminate()
    await next(ll, 'reconnecting')
    up.conns[0].ws.send('last')
    up.conns[0].ws.send('words')
    up.conns[0].ws.close(4321, 'bye')
    await until(() => !!up.conns[0].closed, 5000, 'upstream closed')
    const got = messages(ll, 2)
    const closed = next(ll, 'close')
    gate.closed = false
    assert.deepEqual(await got, ['last', 'words'])
    const e = await closed
    assert.deepEqual([e.code, e.reason], [4321, 'bye'])
  })

  it('stops reading a fast upstream while the page is behind, and loses nothing', async () => {
    const up = await upstream('quiet')
    const max = 1 << 20
    const gw = await gateway(up.url, { maxBufferedAmount: max })
    const ll = connect(gw.url, 'websocket')
    ll.send('hello')
    await until(() => up.conns.length == 1 && up.conns[0].got.length == 1, 5000, 'upstream connected')
    gate.closed = true
    cleanups.push(() => (gate.closed = false))
    ;(gw.session()._store._links.websocket as unknown as { ws: WebSocket }).ws.terminate()
    await next(ll, 'reconnecting')
    const chunk = 'x'.repeat(32 * 1024)
    const n = 200 // 6.4 MiB, six times what the session may hold
    for (let i = 0; i < n; i++) up.conns[0].ws.send(i + ':' + chunk)
    const relay = _relays.get(gw.session())!
    await until(() => relay.downPaused, 5000, 'upstream reading paused')
    await until(() => up.conns[0].ws.bufferedAmount > 0, 5000, 'upstream feeling backpressure')
    assert.ok(gw.session().bufferedAmount <= max, 'session within its bound: ' + gw.session().bufferedAmount)
    let order = 0
    ll.on('message', (e) => (order += parseInt(e.data as string) == order ? 1 : 1e9))
    gate.closed = false
    await until(() => order >= n, 20000, 'every message delivered in order')
    assert.equal(order, n)
    assert.equal(ll.state, 'open')
  })

  // growing nothing without bound
  it('makes the page send() throw LL_ERR_BUFFER_FULL when the upstream stops reading', async () => {
    const up = await upstream('quiet')
    const high = 64 * 1024
    const gw = await gateway(up.url, { maxBufferedAmount: 1 << 20, upstreamHighWaterMark: high })
    const ll = connect(gw.url, 'websocket', { maxBufferedAmount: 512 * 1024 })
    ll.send('hello')
    await until(() => up.conns.length == 1 && up.conns[0].got.length == 1, 5000, 'upstream connected')
    up.conns[0].ws.pause()
    const relay = _relays.get(gw.session())!
    const chunk = 'y'.repeat(16 * 1024)
    let sent = 0
    const send = () => (ll.send(chunk), (sent += chunk.length))
    const full = (e: unknown) => e instanceof LifelineError && e.code == 'LL_ERR_BUFFER_FULL'
    // Send as fast as acknowledgements allow until the gateway holds the page's messages back.
    while (!relay.upPaused) {
      assert.ok(sent < 256 << 20, 'gateway still taking messages after ' + sent + ' bytes')
      try {
        for (let i = 0; i < 8; i++) send()
        await new Promise((r) => setImmediate(r))
      } catch (e) {
        if (!full(e)) throw e
        await until(() => relay.upPaused || ll.bufferedAmount < 256 * 1024, 10000, 'acks or a pause')
      }
    }
    // From now on nothing is acknowledged: the page's queue fills and send() refuses.
    let threw: unknown
    for (let i = 0; i < 64 && !threw; i++) {
      try {
        send()
      } catch (e) {
        threw = e
      }
    }
    assert.ok(full(threw), 'send threw LL_ERR_BUFFER_FULL: ' + threw)
    await new Promise((r) => setTimeout(r, 0))
    assert.ok(relay.upPaused, 'session paused')
    assert.ok(
      relay.ws!.bufferedAmount <= high + chunk.length + 64,
      'gateway write buffer bounded: ' + relay.ws!.bufferedAmount,
    )
    assert.ok(gw.session()._store._inbound._heldBytes <= 1 << 20, 'held messages bounded')
    // Once the upstream reads again, everything the page sent arrives.
    up.conns[0].ws.resume()
    await until(() => ll.bufferedAmount == 0, 20000, 'page queue drained')
    assert.equal(up.conns[0].got.length, 1 + sent / chunk.length)
  })
})
