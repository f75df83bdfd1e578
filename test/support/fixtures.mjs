// The control server browser tests drive: it starts, stops and restarts real Lifeline servers on
// loopback ports and acts on their sessions, so a test in Chromium can say "restart the server
// now" or "send this session a malformed frame" over plain HTTP.
import http from 'node:http'
import https from 'node:https'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { LifelineServer, onRequest } from '../../dist/server.mjs'
import { ensureTomcat, startTomcat, tomcatUnavailable } from './tomcat.mjs'
import { startProxy, stopAllProxies } from './proxies.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

let tls
/** A self-signed certificate for 127.0.0.1, made once per run with openssl. */
export function certificate() {
  if (tls) return tls
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-tls-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), dir }
  return tls
}

const servers = new Map()
let nextId = 1

/**
 * Start a Lifeline echo server; `opts` are LifelineServer options plus `tls`, `port`, `welcome`
 * (a message sent to each session as it is confirmed) and `defaultOrigins` (leave `origins` at the
 * server's default instead of the `'*'` the browser tests use, their page being on karma's origin).
 * With `upstream` it is a gateway and does nothing of its own with messages. With `requests` it
 * answers `request()` (lifeline-rt/request) with `reply:<data>`, and never answers `hang`.
 */
export function startServer(opts = {}) {
  const {
    tls: useTls,
    port = 0,
    behaviour = opts.upstream ? 'relay' : 'echo',
    authToken,
    welcome,
    defaultOrigins,
    requests,
    express: expressOrder,
    ...options
  } = opts
  if (authToken)
    options.authenticate = (req, token) =>
      token == authToken ? { ok: true } : { ok: false, reason: 'bad token ' + token }
  return new Promise((resolve, reject) => {
    const server = useTls ? https.createServer(certificate()) : http.createServer()
    if (!expressOrder)
      server.on('request', (req, res) => {
        if (!res.headersSent && !res.writableEnded)
          setImmediate(() => !res.headersSent && (res.writeHead(404), res.end()))
      })
    // What the server logs is kept (and given in `status`), not printed over the test run's output.
    const logged = []
    const at =
      (level) =>
      (...args) =>
        logged.push([level, ...args.map(String)].join(' '))
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const origins = defaultOrigins ? {} : { origins: '*' }
    // `express`: mounted in an Express 5 app as docs/frameworks.md does ('lifeline-first'), or
    // after an app-wide express.text() ('text-first', which answers POSTs over 100 kB with 413).
    const attach = expressOrder ? {} : { server }
    const ll = new LifelineServer({ ...attach, path: '/rt', logger, ...origins, ...options })
    if (expressOrder) mountInExpress(server, ll, expressOrder)
    const rec = { id: opts.id || nextId++, server, ll, opts, sockets: new Set(), log: [], logged }
    server.on('connection', (s) => {
      rec.sockets.add(s)
      s.on('close', () => rec.sockets.delete(s))
    })
    ll.on('connection', (s) => {
      rec.log.push({ ev: 'connection', id: s.id, transport: s.transport })
      if (welcome) s.send(welcome)
      if (requests) onRequest(s, (d) => (d == 'hang' ? new Promise(() => {}) : 'reply:' + d))
      s.on('message', (m, binary) => {
        if (behaviour == 'echo') s.send(m)
        else if (behaviour == 'count') rec.count = (rec.count || 0) + 1
        else if (behaviour == 'record') record(rec, s, m, binary)
      })
      s.on('close', (code, reason) => rec.log.push({ ev: 'close', id: s.id, code, reason }))
      s.on('error', (e) => rec.log.push({ ev: 'error', id: s.id, code: e.code }))
    })
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      rec.port = server.address().port
      servers.set(rec.id, rec)
      resolve(rec)
    })
  })
}

/**
 * `ll` as middleware of an Express 5 app on `server`, before or after `express.text()`. The app
 * answers every response with `Access-Control-Allow-Origin: *` (the `cors()` a cross-origin app
 * has), so that a page on another origin can read its refusals' statuses.
 */
function mountInExpress(server, ll, order) {
  const app = express()
  // Express's final handler prints every error (the 413s here) unless in its `test` env.
  app.set('env', 'test')
  app.use((req, res, next) => (res.setHeader('Access-Control-Allow-Origin', '*'), next()))
  if (order == 'text-first') app.use(express.text())
  app.use('/rt', (req, res, next) => ll.handleRequest(req, res) || next())
  app.use(express.text())
  server.on('request', app)
  server.on('upgrade', ll.handleUpgrade)
}

/** Stop a server abruptly: every connection cut, as when a process dies. */
export function stopServer(rec) {
  if (rec.down) return Promise.resolve()
  rec.down = true
  return new Promise((resolve) => {
    clearInterval(rec.ll._sweepT)
    for (const s of rec.sockets) s.destroy()
    rec.server.close(() => resolve())
  })
}

function body(req) {
  return new Promise((resolve) => {
    let b = ''
    req.on('data', (c) => (b += c))
    req.on('end', () => resolve(b ? JSON.parse(b) : {}))
  })
}

const sessionsOf = (rec) => [...rec.ll.sessions.values()]

/**
 * Numbered messages: text `n:<i>:<padding>` or binary whose first 4 bytes are i. Recording
 * checks, per session, that they arrive exactly once and in order.
 */
function numberOf(m, binary) {
  if (binary) return m.length >= 4 ? m.readUInt32BE(0) : -1
  const match = /^n:(\d+):/.exec(String(m))
  return match ? +match[1] : -1
}

function record(rec, s, m, binary) {
  const r = (rec.recorded ||= new Map())
  const st = r.get(s.id) || { count: 0, next: 0, violations: [], bytes: 0 }
  r.set(s.id, st)
  const i = numberOf(m, binary)
  if (i != st.next && st.violations.length < 10) st.violations.push(`expected ${st.next}, got ${i}`)
  st.next = i + 1
  st.count++
  st.bytes += m.length
}

function numbered(i, kind, max) {
  const size = kind == 'mixed' ? [0, 10, 100, 1000, 10000, max][i % 6] : 0
  if (kind == 'text') return `n:${i}:`
  if (kind == 'padded') return `n:${i}:`.padEnd(max, 'x')
  const b = Buffer.alloc(Math.max(4, size))
  b.writeUInt32BE(i, 0)
  for (let k = 4; k < b.length; k++) b[k] = (i + k) & 255
  if (kind == 'mixed' && i % 2) return `n:${i}:` + 'x'.repeat(Math.max(0, size - 20))
  return b
}

/** One Tomcat for the whole browser run, started on first use (test/support/tomcat.mjs). */
let tomcat
let tomcatStarting
async function tomcatUp() {
  if (!ensureTomcat({ quiet: true })) return { available: false, why: tomcatUnavailable() }
  if (!tomcat) tomcat = await (tomcatStarting = tomcatStarting || startTomcat())
  else if (!tomcat.running) await tomcat.restart()
  return { available: true, port: tomcat.port, echoUrl: tomcat.echoUrl }
}

/** The control API: POST /<action> with a JSON body. */
const actions = {
  async start(b) {
    const rec = await startServer(b)
    return { id: rec.id, port: rec.port }
  },
  async stop(b) {
    const rec = servers.get(b.id)
    if (rec) await stopServer(rec)
    return {}
  },
  async forget(b) {
    const rec = servers.get(b.id)
    if (rec) await stopServer(rec)
    servers.delete(b.id)
    return {}
  },
  async restart(b) {
    const rec = servers.get(b.id)
    await stopServer(rec)
    servers.delete(rec.id)
    if (b.downMs) await new Promise((r) => setTimeout(r, b.downMs))
    const again = await startServer({ ...rec.opts, id: rec.id, port: rec.port })
    return { id: again.id, port: again.port }
  },
  async sessions(b) {
    const rec = servers.get(b.id)
    return {
      sessions: sessionsOf(rec).map((s) => ({
        id: s.id,
        transport: s.transport,
        heard: !!s._store._heard,
        buffered: s.bufferedAmount,
      })),
      log: rec.log,
      logged: rec.logged,
    }
  },
  async send(b) {
    const rec = servers.get(b.id)
    let n = 0
    for (const s of sessionsOf(rec)) {
      if (!s._store._heard) continue
      for (let i = 0; i < (b.count || 1); i++)
        s.send(b.binary ? Buffer.from(b.data || '', 'base64') : b.count ? b.data + i : b.data)
      n++
    }
    return { sent: n }
  },
  async close(b) {
    const rec = servers.get(b.id)
    for (const s of sessionsOf(rec)) if (s._store._heard) s.close(b.code, b.reason)
    return {}
  },
  // Write raw frames straight to each session's current link, bypassing the session logic.
  async raw(b) {
    const rec = servers.get(b.id)
    let n = 0
    for (const s of sessionsOf(rec)) {
      const l = s._store._links[s._store._active]
      if (!l) continue
      if (l.name == 'websocket') l.ws.send(b.binary ? Buffer.from(b.frame, 'base64') : b.frame, { binary: !!b.binary })
      else if (b.bytes) l._res.write(Buffer.from(b.bytes, 'base64'))
      else l.write([b.frame])
      n++
    }
    return { wrote: n }
  },
  // Cut each session's connection in the middle of a frame: half a record, then the socket dies.
  // With `between`, between two records: no partial bytes, the socket just dies.
  async cut(b) {
    const rec = servers.get(b.id)
    let n = 0
    for (const s of sessionsOf(rec)) {
      const l = s._store._links[s._store._active]
      if (!l) continue
      const sock = l.name == 'websocket' ? l.ws._socket : l._res.socket
      if (!sock) continue
      // A record header promising 100 bytes, and 3 of them (a WebSocket frame header likewise).
      if (!b.between)
        sock.write(
          l.name == 'websocket' ? Buffer.from([0x81, 100, 65, 66, 67]) : Buffer.from([0, 0, 0, 0, 100, 109, 65, 66]),
        )
      sock.destroy()
      n++
    }
    return { cut: n }
  },
  // Stop answering: the server keeps connections open but ignores everything (heartbeat tests).
  async mute(b) {
    const rec = servers.get(b.id)
    for (const s of sessionsOf(rec)) {
      s._store._control = () => {}
      s._store._flush = () => {}
      s._store._receive = () => true
    }
    clearInterval(rec.ll._sweepT)
    // New requests hang unanswered, as behind a dead peer.
    rec.ll.handleRequest = () => true
    return {}
  },
  async count(b) {
    return { count: servers.get(b.id).count || 0 }
  },
  // What 'record' servers got, per session.
  async received(b) {
    const rec = servers.get(b.id)
    return { sessions: Object.fromEntries(rec.recorded || []) }
  },
  // Send `count` numbered messages to every confirmed session, `burst` at a time every `everyMs`,
  // starting once a session is confirmed (a client may ask right after its `open`).
  async pump(b) {
    const rec = servers.get(b.id)
    const { count, burst = 100, everyMs = 10, kind = 'text', max = 65536 } = b
    let i = 0
    const tick = () => {
      if (rec.down) return setTimeout(tick, everyMs)
      const ss = sessionsOf(rec).filter((x) => x._store._heard && !x.closed)
      if (!ss.length && !i) return setTimeout(tick, everyMs)
      for (let k = 0; k < burst && i < count; k++, i++) for (const x of ss) x.send(numbered(i, kind, max))
      if (i < count) setTimeout(tick, everyMs)
    }
    tick()
    return {}
  },
  // Tomcat 10 with its WebSocket examples: start (or reuse), stop by pid, restart on its port.
  async tomcat() {
    return tomcatUp()
  },
  async tomcatStop() {
    if (tomcat) await tomcat.stop()
    return {}
  },
  async tomcatRestart() {
    if (tomcat) await tomcat.restart()
    return tomcatUp()
  },
  // A gateway LifelineServer relaying to `upstream`, by default Tomcat's echo endpoint.
  async gateway(b) {
    let upstream = b.upstream
    if (!upstream) {
      const t = await tomcatUp()
      if (!t.available) return t
      upstream = t.echoUrl
    }
    const rec = await startServer({ ...b, upstream })
    return { available: true, id: rec.id, port: rec.port, upstream }
  },
  // A proxy (test/support/proxies.mjs) in front of a server: { kind, upstream: port, ...opts }.
  async proxy(b) {
    const { kind, upstream, ...opts } = b
    const p = await startProxy(kind, upstream, opts)
    proxies.set(p.port, p)
    return { port: p.port }
  },
  async proxystats(b) {
    const p = proxies.get(b.port)
    return (p && p.stats) || {}
  },
  // Cluster mode (issue 17): a real redis-server, `nodes` (3) server processes on it
  // (cluster-node.mjs, echoing) and HAProxy round robin in front, no stickiness. With `publisher`,
  // one more node behind no balancer, for `clusterPublish` (it holds no member, and is never killed).
  async cluster(b) {
    if (cluster) await stopCluster()
    const { startRedis } = await import('./redis.mjs')
    const { startNodes } = await import('./nodes.mjs')
    const { startHaproxy } = await import('./haproxy.mjs')
    const redis = await startRedis()
    const lease = String(b.nodeLease || 1000)
    const served = b.nodes || 3
    const env = { LIFELINE_REDIS_URL: redis.url, LIFELINE_NODE_LEASE: lease }
    const nodes = await startNodes(served + (b.publisher ? 1 : 0), env)
    const lb = await startHaproxy(nodes.list.slice(0, served).map((n) => n.port))
    cluster = { redis, nodes, lb, publisher: b.publisher ? nodes.list[served] : undefined }
    return { port: lb.port }
  },
  // Room messages `n:<i>:` (i < `count`) to `room` from the publisher node, `everyMs` apart, each
  // sent once the one before resolved; answers at once. `clusterPublished` waits for the last.
  async clusterPublish(b) {
    const { port } = cluster.publisher
    const publish = async (i) => {
      const res = await fetch(`http://127.0.0.1:${port}/publish?room=${encodeURIComponent(b.room)}&data=n:${i}:`)
      const text = await res.text()
      if (res.status != 200) throw new Error(`room message ${i}: ${res.status} ${text}`)
      return +text
    }
    cluster.published = (async () => {
      const members = []
      for (let i = 0; i < b.count; i++) {
        members.push(await publish(i))
        await new Promise((r) => setTimeout(r, b.everyMs))
      }
      return { members }
    })()
    cluster.published.catch(() => {})
    return {}
  },
  // How many members each room message of `clusterPublish` reached, once the last was sent.
  async clusterPublished() {
    return await cluster.published
  },
  // kill -9 node `i` of the cluster, and with `restartMs` start it again that long after.
  async clusterKill(b) {
    await cluster.nodes.kill(b.i)
    if (b.restartMs !== undefined) {
      await new Promise((r) => setTimeout(r, b.restartMs))
      await cluster.nodes.start(b.i)
    }
    return {}
  },
  // What the nodes wrote on stderr (takeovers, fencing).
  async clusterLog() {
    return { log: cluster ? cluster.nodes.list.map((n) => n.log).join('') : '' }
  },
  async clusterStop() {
    await stopCluster()
    return {}
  },
  async unproxy(b) {
    const p = proxies.get(b.port)
    proxies.delete(b.port)
    if (p) await p.stop()
    return {}
  },
}

const proxies = new Map()
let cluster

async function stopCluster() {
  const c = cluster
  cluster = undefined
  if (!c) return
  await c.lb.stop()
  await c.nodes.stopAll()
  await c.redis.remove()
}

/** Start the control server on a loopback port; resolves to its port. */
export function startControl(port = 0) {
  const ctl = http.createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type')
    if (req.method == 'OPTIONS') return res.end()
    const name = req.url.slice(1).split('?')[0]
    const page = name.startsWith('page/') && join(root, 'test', 'pages', name.slice(5))
    if (page && existsSync(page)) return servePage(req, res, page)
    if (name.startsWith('dist/') && existsSync(join(root, name))) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' })
      return res.end(readFileSync(join(root, name)))
    }
    const fn = actions[name]
    if (!fn) return (res.writeHead(404), res.end())
    try {
      const out = await fn(await body(req))
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(out))
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' })
      res.end(String(e && e.stack))
    }
  })
  return new Promise((resolve) =>
    ctl.listen(port, '127.0.0.1', () => resolve({ port: ctl.address().port, close: () => ctl.close() })),
  )
}

/** Test pages, served with a strict Content-Security-Policy. */
function servePage(req, res, file) {
  const type = file.endsWith('.html') ? 'text/html' : 'text/javascript'
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*",
  })
  res.end(readFileSync(file))
}

export async function stopAll() {
  await stopCluster()
  proxies.clear()
  await stopAllProxies()
  for (const rec of [...servers.values()]) await stopServer(rec)
  servers.clear()
  if (tomcat) await tomcat.dispose()
  tomcat = tomcatStarting = undefined
}
