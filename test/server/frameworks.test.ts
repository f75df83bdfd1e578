// The framework recipes of docs/frameworks.md, each with the real framework, and the real client
// (in Node: `ws` as its WebSocket, Node's fetch for the HTTP transports) echoing through it on
// every transport over loopback. The framework's own routes and body parsers keep working beside
// Lifeline, and the script-tag build is served under the endpoint.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { bodyParser } from '@koa/bodyparser'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { Lifeline, type LifelineOptions } from '../../src/client/index'
import { NodeWS, clock } from './client'
import { LifelineServer, type ServerOptions } from '../../src/server/index'
import { encode, Parser } from '../../src/protocol/envelope'
import type { Frame } from '../../src/protocol/frames'

const TRANSPORTS = ['websocket', 'stream', 'polling'] as const
/** Text of every kind, empty and past 127 bytes (a record length with its top bit set), binary. */
const SENT = ['one', 'Ünïcödé 😀', 'x'.repeat(300), 'bin:0,1,255', '', 'bin:', 'y'.repeat(70000)]

const cleanups: Array<() => unknown> = []
after(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/**
 * A running app: its URL, the Lifeline endpoint's path in it, what its logger was told at
 * `error`, and every message the endpoint received.
 */
interface Mounted {
  base: string
  path: string
  logged: string[]
  received: Array<string | Buffer>
}

/** An echo LifelineServer that records what it is told and what it receives. */
function echoServer(options: ServerOptions) {
  const logged: string[] = []
  const received: Array<string | Buffer> = []
  const logger = { debug() {}, info() {}, warn() {}, error: (...a: unknown[]) => logged.push(a.join(' ')) }
  const ll = new LifelineServer({ logger, ...options })
  ll.on('connection', (s) =>
    s.on('message', (m) => {
      received.push(m)
      s.send(m)
    }),
  )
  return { ll, logged, received }
}

/** Stops a server and the framework around it, cutting what the clients left open. */
function stopping(server: http.Server, ll: LifelineServer, more: () => unknown = () => {}) {
  cleanups.push(async () => {
    ll.close()
    server.closeAllConnections()
    await more()
    await new Promise((r) => server.close(r))
  })
}

const port = (server: http.Server) => (server.address() as AddressInfo).port

// Express 5: mounted under a prefix (Express strips it from req.url), before the body parsers
// (express.text() among them, which would take its text/plain POSTs), as docs/frameworks.md says,
// with the app's routes beside it.
async function expressApp(): Promise<Mounted> {
  const { ll, logged, received } = echoServer({ path: '/rt' })
  const app = express()
  app.use('/rt', (req, res, next) => ll.handleRequest(req, res) || next())
  app.use(express.json())
  app.use(express.urlencoded({ extended: false }))
  app.use(express.raw())
  app.use(express.text())
  app.get('/hello', (req, res) => res.send('express'))
  app.post('/api/echo', (req, res) => res.json(req.body))
  const server = await new Promise<http.Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  server.on('upgrade', ll.handleUpgrade)
  stopping(server, ll)
  return { base: `http://127.0.0.1:${port(server)}`, path: '/rt', logged, received }
}

// Express 5 with an app-wide express.text() before Lifeline, inside a router under /api.
async function expressText(): Promise<Mounted> {
  const { ll, logged, received } = echoServer({ path: '/api/rt' })
  const app = express()
  // Express's final handler prints every error (its 413s here) unless in its `test` env.
  app.set('env', 'test')
  app.use(express.text())
  const api = express.Router()
  api.use('/rt', (req, res, next) => ll.handleRequest(req, res) || next())
  app.use('/api', api)
  app.post('/notes', (req, res) => res.type('text/plain').send('got ' + req.body))
  const server = await new Promise<http.Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  server.on('upgrade', ll.handleUpgrade)
  stopping(server, ll)
  return { base: `http://127.0.0.1:${port(server)}`, path: '/api/rt', logged, received }
}

// Fastify 5: attached to the server Fastify made; Lifeline takes its requests before Fastify's
// routing (and its text/plain parser) sees them.
async function fastifyApp(): Promise<Mounted> {
  const fastify = Fastify()
  const { ll, logged, received } = echoServer({ server: fastify.server, path: '/rt' })
  fastify.get('/hello', async () => 'fastify')
  fastify.post('/api/echo', async (request) => request.body)
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  stopping(fastify.server, ll, () => fastify.close())
  return { base: `http://127.0.0.1:${port(fastify.server)}`, path: '/rt', logged, received }
}

// Koa 3: a middleware after @koa/bodyparser; `ctx.respond = false` leaves the response to Lifeline.
async function koaApp(): Promise<Mounted> {
  const { ll, logged, received } = echoServer({ path: '/rt' })
  const app = new Koa()
  app.use(bodyParser())
  app.use(async (ctx, next) => {
    if (ll.handleRequest(ctx.req, ctx.res)) ctx.respond = false
    else await next()
  })
  app.use(async (ctx) => {
    if (ctx.path == '/hello') ctx.body = 'koa'
    else if (ctx.path == '/api/echo') ctx.body = ctx.request.body
  })
  const server = await new Promise<http.Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  server.on('upgrade', ll.handleUpgrade)
  stopping(server, ll)
  return { base: `http://127.0.0.1:${port(server)}`, path: '/rt', logged, received }
}

// Hono on @hono/node-server: attached to the server `serve` returns.
async function honoApp(): Promise<Mounted> {
  const app = new Hono()
  app.get('/hello', (c) => c.text('hono'))
  app.post('/api/echo', async (c) => c.json(await c.req.json()))
  const server = await new Promise<http.Server>((r) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => r(s as http.Server))
  })
  const { ll, logged, received } = echoServer({ server, path: '/rt' })
  stopping(server, ll)
  return { base: `http://127.0.0.1:${port(server)}`, path: '/rt', logged, received }
}

function connect(url: string, t: string, opts: LifelineOptions = {}): Lifeline {
  const ll = new Lifeline(url, {
    WebSocket: NodeWS as unknown as typeof WebSocket,
    transports: [t as 'websocket'],
    storage: null,
    clock,
    ...opts,
  })
  ll.binaryType = 'arraybuffer'
  cleanups.push(() => ll.readyState < 2 && ll.close())
  return ll
}

const encodeMessage = (m: string) =>
  m.startsWith('bin:') ? new Uint8Array(m.length > 4 ? m.slice(4).split(',').map(Number) : []) : m
const decodeMessage = (d: unknown) =>
  typeof d == 'string' ? d : 'bin:' + [...new Uint8Array(d as ArrayBuffer)].join(',')

/** Send `sent` and resolve to what came back, in order; rejects after `ms` with what it has. */
function echo(ll: Lifeline, sent: string[], ms = 10000): Promise<string[]> {
  const got: string[] = []
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got.length} of ${sent.length} echoes in ${ms} ms`)), ms)
    ll.on('message', (e) => {
      got.push(decodeMessage(e.data))
      if (got.length == sent.length) (clearTimeout(t), resolve(got))
    })
    for (const m of sent) ll.send(encodeMessage(m))
  })
}

const FRAMEWORKS = { 'Express 5': expressApp, 'Fastify 5': fastifyApp, 'Koa 3': koaApp, 'Hono 4': honoApp }

for (const [name, mount] of Object.entries(FRAMEWORKS)) {
  describe(name, () => {
    for (const t of TRANSPORTS)
      it(`echoes text and binary over ${t}, through the framework`, async () => {
        const app = await mount()
        const ll = connect(app.base + app.path, t)
        assert.deepEqual(await echo(ll, SENT), SENT)
        assert.equal(ll.transport, t)
        assert.deepEqual(app.logged, [])
      })

    it('keeps its own routes and body parsers, and serves lifeline.min.js under the endpoint', async () => {
      const app = await mount()
      const page = await fetch(app.base + '/hello')
      assert.equal(await page.text(), name.split(' ')[0].toLowerCase())
      const json = await fetch(app.base + '/api/echo', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ a: [1, 'two'] }),
      })
      assert.deepEqual(await json.json(), { a: [1, 'two'] })
      const script = await fetch(app.base + app.path + '/lifeline.min.js')
      assert.equal(script.status, 200)
      assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8')
      assert.match(await script.text(), /^var Lifeline=/)
    })
  })
}

/** A message of 1 MB: five times express.text()'s 100 kB limit. */
const MEGABYTE = 'z'.repeat(1 << 20)

describe('Express 5 with Lifeline before express.text(), as docs/frameworks.md mounts it', () => {
  for (const t of TRANSPORTS)
    it(`a message of 1 MB goes through, and back, over ${t}`, async () => {
      const app = await expressApp()
      const ll = connect(app.base + app.path, t)
      assert.deepEqual(await echo(ll, [MEGABYTE, 'after']), [MEGABYTE, 'after'])
      assert.deepEqual(app.logged, [])
    })
})

// express.text() before Lifeline answered every POST over 100 kB with 413; the client sent it again,
// forever, with no error and no console line (issue 28).
describe('Express 5 with express.text() before Lifeline: a message of 1 MB', () => {
  it('goes over websocket (an upgrade passes no body parser)', async () => {
    const app = await expressText()
    assert.deepEqual(await echo(connect(app.base + app.path, 'websocket'), [MEGABYTE]), [MEGABYTE])
  })
  for (const t of ['stream', 'polling'])
    it(`over ${t}: an error (LL_ERR_UPLOAD_REFUSED) and a warn naming the cause, then close 1009`, async () => {
      const app = await expressText()
      const lines: string[] = []
      const at =
        (level: string) =>
        (...a: unknown[]) =>
          void lines.push([level, ...a].join(' '))
      const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
      const ll = connect(app.base + app.path, t, { logger })
      const errors: Array<{ code: string; message: string }> = []
      ll.on('error', (e) => errors.push(e.error as never))
      await new Promise((r) => ll.on('open', r))
      const closed = new Promise<{ code: number; reason: string }>((r) => ll.on('close', r))
      ll.send(MEGABYTE)
      const bye = await Promise.race([closed, new Promise((r) => setTimeout(r, 10000, 'still looping'))])
      assert.deepEqual(bye, { ...(bye as object), code: 1009, reason: t + '-upload-413' })
      assert.deepEqual(
        errors.map((e) => e.code),
        ['LL_ERR_UPLOAD_REFUSED'],
      )
      assert.equal(errors[0].message, t + '-upload-413: a body parser in front of Lifeline, or maxPostBytes?')
      assert.equal(
        lines.filter((l) => l.startsWith('warn [lifeline] LL_ERR_UPLOAD_REFUSED ' + t + '-upload-413')).length,
        1,
      )
      assert.deepEqual(app.received, [])
    })
})

// Express hands a handler mounted with app.use('/rt', …) req.url without '/rt': nothing matched.
it('regression: mounted under a prefix in Express, Lifeline answers its path (req.originalUrl)', async () => {
  const app = await expressApp()
  const r = await fetch(app.base + '/rt?v=1&t=polling&ack=0&o=1')
  assert.equal(r.status, 200)
  assert.match(Buffer.from(await r.arrayBuffer()).toString(), /^\0\0\0\0.o\{"v":2,"sid":/s)
})

describe('Express 5 with express.text() before Lifeline', () => {
  // Lifeline read the request stream express.text() had drained: the POST hung until requestTimeout.
  for (const t of ['stream', 'polling'])
    it(`regression: a POST body express.text() had read hung; the client's texts arrive over ${t}`, async () => {
      const app = await expressText()
      const short = ['one', 'Ünïcödé 😀', '']
      assert.deepEqual(await echo(connect(app.base + app.path, t), short), short)
      // The app's own text/plain route still gets its text.
      const note = await fetch(app.base + '/notes', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: 'hi',
      })
      assert.equal(await note.text(), 'got hi')
    })

  /** One raw HTTP request; the answer's frames parsed when it is an envelope. */
  function raw(base: string, method: string, path: string, body?: Buffer, type = 'text/plain') {
    return new Promise<{ status: number; text: string; frames: Frame[] }>((resolve, reject) => {
      const r = http.request(base + path, { method, headers: { 'Content-Type': type } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const all = Buffer.concat(chunks)
          const frames: Frame[] = []
          if (/octet/.test(res.headers['content-type'] || '')) new Parser((f) => frames.push(f), 1 << 24).push(all)
          resolve({ status: res.statusCode!, text: all.toString(), frames })
        })
      })
      r.on('error', reject)
      r.end(body)
    })
  }

  /** A polling session through the app; resolves to a function POSTing a body to it. */
  async function session(app: Mounted) {
    const first = await raw(app.base, 'GET', app.path + '?v=1&t=polling&ack=0&o=1')
    const hello = first.frames.find((f) => typeof f == 'string' && f[0] == 'o') as string
    const sid = JSON.parse(hello.slice(1)).sid as string
    return (body: Buffer, type: string) =>
      raw(app.base, 'POST', `${app.path}?v=1&t=polling&sid=${sid}&ack=0`, body, type)
  }

  /** A body that UTF-8 cannot carry: a binary message and a 200-byte text (length byte 0xca). */
  const BODY = Buffer.from(encode(['s1', 'u1', new Uint8Array([0, 1, 255]), 'm' + 'z'.repeat(200)]))

  it('takes a body read as UTF-8 when it decodes back exactly, and logs the risk once', async () => {
    const app = await expressText()
    const post = await session(app)
    const utf8 = (frames: Frame[]) => Buffer.from(encode(frames))
    assert.equal((await post(utf8(['s1', 'u1', 'mhello', 'mÜnï']), 'text/plain')).status, 200)
    assert.equal((await post(utf8(['s3', 'magain']), 'text/plain;charset=utf-8')).status, 200)
    assert.deepEqual(app.received, ['hello', 'Ünï', 'again'])
    assert.equal(app.logged.length, 1)
    assert.match(app.logged[0], /read the body as UTF-8 text.*binary messages and most over 127 bytes will not/)
  })

  it('takes a body labelled ISO-8859-1 byte for byte: binary and long messages arrive', async () => {
    const app = await expressText()
    const post = await session(app)
    const r = await post(BODY, 'text/plain;charset=iso-8859-1')
    assert.equal(r.status, 200)
    assert.deepEqual(app.received, [Buffer.from([0, 1, 255]), 'z'.repeat(200)])
    assert.deepEqual(app.logged, [])
  })

  it('the real client gets binary and long messages through, over polling', async () => {
    const app = await expressText()
    const ll = connect(app.base + app.path, 'polling')
    assert.deepEqual(await echo(ll, SENT, 3000), SENT)
  })

  it('answers 500 for a body UTF-8 decoding lost, and logs the fix once', async () => {
    const app = await expressText()
    const post = await session(app)
    const r = await post(BODY, 'text/plain')
    assert.equal(r.status, 500)
    assert.match(r.text, /^lifeline: a body parser decoded the POST body as UTF-8/)
    assert.equal((await post(BODY, 'text/plain')).status, 500)
    assert.deepEqual(app.received, [])
    assert.equal(app.logged.length, 1)
    assert.match(app.logged[0], /POST to \/api\/rt: .*answered 500\. Mount Lifeline before the body parsers/)
  })
})
