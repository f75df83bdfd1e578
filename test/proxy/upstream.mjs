// A tiny upstream for the node-side proxy tests: plain HTTP routes and a WebSocket echo whose
// every byte is accounted for, so a test can tell what a proxy held back, delayed or dropped.
import http from 'node:http'
import { once } from 'node:events'
import { WebSocket, WebSocketServer } from 'ws'

/**
 * Routes: `GET /trickle?n=&size=&every=` writes n chunks of `size` bytes `every` ms apart
 * (`written` counts them); `GET /hold` never answers; `POST /echo` answers with the body;
 * anything else answers `ok`. WebSocket at any path: echoes each message; `ws` lists the
 * server side of each.
 */
export async function upstream() {
  const up = { written: 0, ended: 0, sockets: new Set(), ws: [], upgrades: [] }
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x')
    if (u.pathname == '/trickle') {
      const [n, size, every] = ['n', 'size', 'every'].map((k) => +u.searchParams.get(k))
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Accel-Buffering': 'no' })
      let i = 0
      const t = setInterval(() => {
        res.write(Buffer.alloc(size, 97 + (i % 26)))
        up.written += size
        if (++i < n) return
        clearInterval(t)
        res.end()
        up.ended = Date.now()
      }, every)
      res.on('close', () => clearInterval(t))
    } else if (u.pathname == '/hold') {
      // Held until the proxy or the test gives up.
    } else if (u.pathname == '/echo') {
      const body = []
      req.on('data', (d) => body.push(d))
      req.on('end', () => res.end(Buffer.concat(body)))
    } else if (u.pathname == '/headers') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(req.headers))
    } else res.end('ok')
  })
  server.on('connection', (s) => {
    up.sockets.add(s)
    s.on('close', () => up.sockets.delete(s))
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws, req) => {
    up.ws.push(ws)
    up.upgrades.push(req.headers)
    ws.on('message', (m, binary) => ws.send(m, { binary }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  up.port = server.address().port
  up.close = () => {
    for (const c of wss.clients) c.terminate()
    for (const s of up.sockets) s.destroy()
    return new Promise((r) => server.close(r))
  }
  return up
}

/** Open a `ws` client; resolves on open, rejects with the handshake's failure. */
export function wsOpen(port, path = '/') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`)
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (req, res) => (ws.terminate(), reject(new Error('HTTP ' + res.statusCode))))
    ws.once('error', reject)
  })
}

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
export function deadline(promise, ms, what) {
  let t
  const late = new Promise(
    (_, reject) => (t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  )
  return Promise.race([promise, late]).finally(() => clearTimeout(t))
}

/** Resolves true if `promise` settles within `ms`, false otherwise (to show something does not happen). */
export function settlesWithin(promise, ms) {
  let t
  const no = new Promise((r) => (t = setTimeout(() => r(false), ms)))
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    no,
  ]).finally(() => clearTimeout(t))
}

/**
 * GET `path` through `port`, noting when the head and each chunk arrived relative to the
 * request, and how much the upstream had written by then.
 */
export function timedGet(port, path, up) {
  const t0 = Date.now()
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const got = { status: res.statusCode, headAt: Date.now() - t0, chunks: [], body: '' }
      res.on('data', (d) => {
        got.chunks.push({ at: Date.now() - t0, bytes: d.length, upstreamWritten: up ? up.written : 0 })
        got.body += d
      })
      res.on('end', () => resolve(got))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}
