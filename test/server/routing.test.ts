// src/server/routing.ts: a LifelineServer given `server` and the app's own 'request' listeners,
// over real HTTP on loopback. Whichever was added first, Lifeline's requests are answered once,
// by Lifeline, and the app's listeners get every other request.
import assert from 'node:assert/strict'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import { attach as attachEngine } from 'engine.io'
import { LifelineServer, type ServerOptions } from '../../src/server/index'
import { recorder } from './raw'

const stops: Array<() => Promise<void>> = []
after(() => Promise.all(stops.map((s) => s())))

/** A bare server (no listener yet) on a free loopback port, closed after the tests. */
async function bare() {
  const server = http.createServer()
  const closers: Array<() => void> = []
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  stops.push(
    () =>
      new Promise<void>((r) => {
        for (const c of closers) c()
        server.closeAllConnections()
        server.close(() => r())
      }),
  )
  const lifeline = (options: ServerOptions) => {
    const ll = new LifelineServer({ server, logger: recorder([]), ...options })
    closers.push(() => ll.close())
    return ll
  }
  return { server, lifeline, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** An app that answers everything it is given, and counts what it was given. */
function app(name: string) {
  const seen: string[] = []
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(req.url!.split('?')[0])
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(name)
  }
  return { seen, listener }
}

/** The first poll of a new session: answered by Lifeline with an envelope holding the hello. */
const POLL = '?v=2&t=polling&ack=0&o=1'

async function ask(url: string) {
  const r = await fetch(url)
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) }
}

/** Whether `r` is Lifeline's answer to {@link POLL}: an envelope whose one record is the hello. */
function isHello(r: { status: number; type: string | null; body: Buffer }) {
  return r.status == 200 && r.type == 'application/octet-stream' && r.body.subarray(5, 13).toString() == 'o{"v":2,'
}

// An app answering every request used to answer Lifeline's too, when added after it.
test('regression: a request listener added after LifelineServer answered its requests twice', async () => {
  const { server, lifeline, base } = await bare()
  lifeline({ path: '/rt' })
  const later = app('later')
  server.on('request', later.listener)
  // One that only looks, put first: it still runs first.
  const order: string[] = []
  server.prependListener('request', () => order.push('first'))
  server.on('request', () => order.push('last'))
  assert.ok(isHello(await ask(base + '/rt' + POLL)))
  assert.equal((await ask(base + '/rt/lifeline.min.js')).status, 200)
  assert.equal((await ask(base + '/page')).body.toString(), 'later')
  assert.deepEqual(later.seen, ['/page'])
  assert.deepEqual(order, ['first', 'last'])
})

test('listeners added before and after alike get only the other paths; once and off work', async () => {
  const { server, lifeline, base } = await bare()
  const before = app('before')
  server.on('request', before.listener)
  lifeline({ path: '/rt' })
  let onceCalls = 0
  server.once('request', () => onceCalls++)
  const removed = app('removed')
  server.on('request', removed.listener)
  server.off('request', removed.listener)
  assert.ok(isHello(await ask(base + '/rt' + POLL)))
  assert.equal((await ask(base + '/a')).body.toString(), 'before')
  assert.equal((await ask(base + '/b')).body.toString(), 'before')
  assert.deepEqual(before.seen, ['/a', '/b'])
  assert.deepEqual(removed.seen, [])
  assert.equal(onceCalls, 1)
})

test('two LifelineServers on one server and an app added after both: each request answered once', async () => {
  const { server, lifeline, base } = await bare()
  lifeline({ path: '/one' })
  lifeline({ path: '/two' })
  const late = app('late')
  server.on('request', late.listener)
  assert.ok(isHello(await ask(base + '/one' + POLL)))
  assert.ok(isHello(await ask(base + '/two' + POLL)))
  assert.equal((await ask(base + '/three')).body.toString(), 'late')
  assert.deepEqual(late.seen, ['/three'])
})

test('engine.io attached after Lifeline, then an app: no request of Lifeline reaches the others', async () => {
  const { server, lifeline, base } = await bare()
  lifeline({ path: '/rt' })
  // engine.io takes the listeners it finds into its own and passes other paths on to them.
  const engine = attachEngine(server, { path: '/engine.io/' })
  stops.unshift(async () => engine.close())
  // engine.io hands its own requests on to listeners added after it: those must pass them by.
  const late = app('late')
  server.on('request', (req, res) => req.url!.startsWith('/engine.io/') || late.listener(req, res))
  assert.ok(isHello(await ask(base + '/rt' + POLL)))
  const eio = await ask(base + '/engine.io/?EIO=4&transport=polling')
  assert.equal(eio.status, 200)
  assert.match(eio.body.toString(), /^0\{"sid":/)
  assert.equal((await ask(base + '/page')).body.toString(), 'late')
  assert.deepEqual(late.seen, ['/page'])
})

/** Send a WebSocket upgrade for `path` over a raw socket; what came back within `ms` (or '' when nothing did). */
function upgrade(base: string, path: string, ms = 3000): Promise<string> {
  const { port } = new URL(base)
  return new Promise((resolve) => {
    const sock = net.connect(+port, '127.0.0.1')
    let got = ''
    const done = () => (clearTimeout(timer), sock.destroy(), resolve(got))
    const timer = setTimeout(done, ms)
    sock.on('data', (d) => (got += d))
    sock.on('end', done)
    sock.on('error', done)
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
  })
}

// The wrong path (`/rtx` for `/rt`) was never answered: curl waited 20 s, a page 15 s (issue 28).
test("an upgrade for a path that is not Lifeline's gets 404 when no other upgrade listener takes it", async () => {
  const { lifeline, base } = await bare()
  lifeline({ path: '/rt' })
  const started = Date.now()
  assert.match(await upgrade(base, '/rtx?v=2&t=websocket&ack=0&o=1'), /^HTTP\/1\.1 404 Not Found\r\n/)
  assert.ok(Date.now() - started < 2000, 'answered at once')
  // Its own path still upgrades.
  assert.match(await upgrade(base, '/rt?v=2&t=websocket&ack=0&o=1', 1000), /^HTTP\/1\.1 101 /)
})

test('an upgrade for another path is left to another upgrade listener, added before or after Lifeline', async () => {
  for (const first of [true, false]) {
    const { server, lifeline, base } = await bare()
    const theirs = (req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
      if (req.url == '/theirs') socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    }
    if (first) server.on('upgrade', theirs)
    lifeline({ path: '/rt' })
    if (!first) server.on('upgrade', theirs)
    assert.match(await upgrade(base, '/theirs'), /^HTTP\/1\.1 418 Teapot\r\n/)
    assert.match(await upgrade(base, '/rt?v=2&t=websocket&ack=0&o=1', 1000), /^HTTP\/1\.1 101 /)
    // One they do not take either is theirs to answer or not: Lifeline leaves it be.
    assert.equal(await upgrade(base, '/nobody', 500), '')
  }
})
