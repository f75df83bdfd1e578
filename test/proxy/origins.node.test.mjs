// The default origin check through each proxy as people deploy it (test/support/proxies.mjs),
// in real Chromium: a page served through the proxy at its public name (http://localhost:<proxy
// port>, upstream 127.0.0.1:<server port>, as in production the public name is not the
// upstream's address) connects on every transport with the server's DEFAULT options and
// exchanges messages; a page on another site (http://127.0.0.1:<server port>) is refused: the
// client's `close` has 1008 and a reason naming the fix, and it does not reconnect.
//
// Driven with playwright-core from node:test rather than karma: the same-site page must come from
// the proxy's own origin, and karma's page is on karma's. Where a proxy hides the public name
// (nginx without a Host line, Apache's ProxyPreserveHost Off, HAProxy setting Host), no default
// can be safe, so the test shows the refusal naming the fix, then the fix working.
// Prints `[origins] <kind> <transports>: first message after N ms over <transport>`.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { LifelineServer } from '../../dist/server.mjs'
import flags from '../support/chromium.cjs'
import { freePort, startProxy, stopAllProxies } from '../support/proxies.mjs'

const script = readFileSync(new URL('../../dist/lifeline.min.js', import.meta.url))
const PAGE = '<!doctype html><meta charset="utf-8"><script src="/lifeline.min.js"></script>'
/** Each transport alone, then the default options (all of them, raced). */
const RUNS = [['websocket'], ['stream'], ['polling'], null]
const ECHOES = 20
/** After a refusal, how long the client must stay closed (no reconnect). */
const QUIET_MS = 2000

let browser
before(async () => {
  browser = await chromium.launch({
    executablePath: flags.CHROMIUM,
    args: [...flags.CHROMIUM_FLAGS, '--ignore-certificate-errors'],
    headless: true,
  })
})
after(async () => {
  await stopAllProxies()
  await browser.close()
})

/** A Lifeline server with `options` that also serves the test page and the script tag build. */
async function lifeline(options, port = 0) {
  const warnings = []
  const logger = { debug() {}, info() {}, warn: (...a) => warnings.push(a.join(' ')), error() {} }
  const server = http.createServer((req, res) => {
    if (req.url == '/lifeline.min.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script)
    if (req.url == '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE)
  })
  const ll = new LifelineServer({ server, path: '/rt', logger, ...options })
  const out = { ll, port: 0, warnings, confirmed: 0 }
  ll.on('connection', (s) => {
    out.confirmed++
    s.send('welcome')
    s.on('message', (m) => s.send(m))
  })
  await new Promise((r) => server.listen(port, '127.0.0.1', r))
  const stop = () => (ll.close(), server.closeAllConnections(), new Promise((r) => server.close(r)))
  return Object.assign(out, { port: server.address().port, stop })
}

/**
 * In a page at `pageUrl`, a client of `url` on `transports` (null: the defaults): the time to the
 * server's first message, then `ECHOES` echoes in order; or, if it closes first, the close and
 * whether it reconnected within `QUIET_MS` after.
 */
async function run(pageUrl, url, transports, ms = 15000) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  try {
    const page = await context.newPage()
    await page.goto(pageUrl)
    return await page.evaluate(
      ({ url, transports, ECHOES, QUIET_MS, ms }) =>
        new Promise((resolve) => {
          const t0 = performance.now()
          const ll = new Lifeline(url, transports ? { transports, storage: null } : { storage: null })
          const out = { got: [], causes: [], after: [] }
          let closed = false
          const done = (outcome) => (clearTimeout(deadline), resolve({ ...out, outcome, state: ll.state }))
          const deadline = setTimeout(() => done('timeout'), ms)
          ll.on('reconnecting', (e) => (closed ? out.after : out.causes).push(e.cause))
          ll.on('message', (e) => {
            if (out.first === undefined) {
              out.first = Math.round(performance.now() - t0)
              out.transport = ll.transport
              for (let i = 0; i < ECHOES; i++) ll.send('m' + i)
            } else out.got.push(e.data)
            if (out.got.length == ECHOES) {
              ll.close()
              done('ok')
            }
          })
          ll.on('close', (e) => {
            if (out.got.length == ECHOES) return
            closed = true
            out.close = { code: e.code, reason: e.reason }
            // Closed for good: nothing may follow, so wait to see that nothing does.
            setTimeout(() => done('closed'), QUIET_MS)
          })
        }),
      { url, transports, ECHOES, QUIET_MS, ms },
    )
  } finally {
    await context.close()
  }
}

const numbered = Array.from({ length: ECHOES }, (_, i) => 'm' + i)
const name = (transports) => (transports ? transports.join('+') : 'default options')

/** A same-site page through proxy `p` connects on every transport and exchanges messages. */
async function connectsEverywhere(kind, p, options = {}) {
  const server = p.server
  const base = `${p.scheme}://localhost:${p.port}`
  for (const transports of RUNS) {
    const r = await run(base + '/', base + '/rt', transports)
    const label = `${kind} ${name(transports)}${Object.keys(options).length ? ' with ' + JSON.stringify(options) : ''}`
    assert.equal(r.outcome, 'ok', `${label}: ${JSON.stringify(r)}`)
    assert.deepEqual(r.got, numbered, label)
    if (transports) assert.equal(r.transport, transports[0], label)
    console.log(`[origins] ${label}: first message after ${r.first} ms over ${r.transport}`)
  }
  assert.deepEqual(server.warnings, [], 'nothing refused')
}

/** A page at `pageUrl` is refused through `p` on each run: 1008 with `reason`, no reconnect. */
async function refused(p, pageUrl, reason, runs = [['stream'], ['polling'], null]) {
  const url = `${p.scheme}://localhost:${p.port}/rt`
  const confirmed = p.server.confirmed
  const results = await Promise.all(runs.map((t) => run(pageUrl, url, t)))
  for (const [i, r] of results.entries()) {
    const label = `${pageUrl} ${name(runs[i])}`
    assert.equal(r.outcome, 'closed', `${label}: ${JSON.stringify(r)}`)
    assert.deepEqual([r.close.code, r.close.reason, r.state], [1008, reason, 'closed'], label)
    assert.deepEqual([r.first, r.after], [undefined, []], `${label}: no message, no reconnect after close`)
  }
  // A same-origin GET carries no Origin (a stream's or first poll's): it may make a session, but
  // the POSTs carry one, so it is never confirmed and expires unused.
  assert.equal(p.server.confirmed - confirmed, 0, 'no session confirmed for a refused page')
  return results
}

/** A Lifeline server with `options` behind a fresh proxy of `kind`. */
async function behind(kind, options = {}) {
  const server = await lifeline(options)
  const p = await startProxy(kind, server.port)
  const stop = p.stop
  p.stop = () => Promise.all([stop(), server.stop()])
  return Object.assign(p, { server })
}

const crossSite = (p) => `http://127.0.0.1:${p.server.port}/`

describe('origins through proxies, in Chromium, on default options', { timeout: 120000 }, () => {
  for (const kind of ['nginx', 'nginx-host', 'nginx-tls']) {
    it(`${kind}: a same-site page connects on every transport; another site is refused with 1008`, async () => {
      const p = await behind(kind)
      try {
        await connectsEverywhere(kind, p)
        await refused(
          p,
          crossSite(p),
          `origin not allowed: not the Host; forward Host, or origins: ['${crossSite(p).slice(0, -1)}']`,
        )
        // RFC 6455 §10.2: a refused WebSocket gets 403, which a page cannot read: it retries.
        const confirmed = p.server.confirmed
        const ws = await run(crossSite(p), `${p.scheme}://localhost:${p.port}/rt`, ['websocket'], 4000)
        assert.equal(ws.outcome, 'timeout', JSON.stringify(ws))
        assert.deepEqual([ws.first, p.server.confirmed - confirmed], [undefined, 0])
        assert.ok(ws.causes.length >= 1 && ws.causes.every((c) => c == 'websocket-refused'), ws.causes.join())
        assert.equal(p.server.warnings.length, 1, 'logged once: ' + p.server.warnings.join('\n'))
      } finally {
        await p.stop()
      }
    })
  }

  // Host is the upstream address: no safe default
  it('nginx-proxy-host: refused, the reason names the fix, and the fix works', async () => {
    const p = await behind('nginx-proxy-host')
    const page = `http://localhost:${p.port}`
    try {
      await refused(p, page + '/', `origin not allowed: not the Host; forward Host, or origins: ['${page}']`)
      assert.match(p.server.warnings[0], /"localhost".* is not the server's: Host "127\.0\.0\.1:\d+"/)
    } finally {
      await p.stop()
    }
    const again = await behindWithOrigin('nginx-proxy-host', (port) => ({ origins: [`http://localhost:${port}`] }))
    try {
      await connectsEverywhere('nginx-proxy-host', again, { origins: ['<page>'] })
      await refused(again, crossSite(again), `origin not allowed: ${crossSite(again).slice(0, -1)} is not in origins`)
    } finally {
      await again.stop()
    }
  })

  it('apache (ProxyPreserveHost Off): refused, the reason names trustProxy, and trustProxy works', async () => {
    const p = await behind('apache')
    const page = `http://localhost:${p.port}`
    try {
      await refused(
        p,
        page + '/',
        `origin not allowed: X-Forwarded-Host untrusted; set trustProxy, or origins: ['${page}']`,
      )
      assert.match(p.server.warnings[0], /X-Forwarded-Host "localhost:\d+" \(ignored: trustProxy is off\)/)
    } finally {
      await p.stop()
    }
    const trusting = await behind('apache', { trustProxy: true })
    try {
      await connectsEverywhere('apache', trusting, { trustProxy: true })
      await refused(
        trusting,
        crossSite(trusting),
        `origin not allowed: not the forwarded host; set origins: ['${crossSite(trusting).slice(0, -1)}']`,
      )
    } finally {
      await trusting.stop()
    }
  })

  // Host set to upstream.internal: no safe default
  it('haproxy-rewrite: refused, the reason names the fix, and the fix works', async () => {
    const p = await behind('haproxy-rewrite')
    const page = `http://localhost:${p.port}`
    try {
      await refused(p, page + '/', `origin not allowed: not the Host; forward Host, or origins: ['${page}']`)
      assert.match(p.server.warnings[0], /is not the server's: Host "upstream\.internal"/)
    } finally {
      await p.stop()
    }
    const again = await behindWithOrigin('haproxy-rewrite', (port) => ({ origins: [`//localhost:${port}`] }))
    try {
      await connectsEverywhere('haproxy-rewrite', again, { origins: ['//<page host:port>'] })
    } finally {
      await again.stop()
    }
  })
})

/**
 * A proxy of `kind` in front of a server whose options name the proxy's port (an `origins` list
 * naming the page): the proxy is started first, in front of a free port, and the server then
 * listens on that port with the options made for the proxy's.
 */
async function behindWithOrigin(kind, optionsFor) {
  const port = await freePort()
  const p = await startProxy(kind, port)
  const server = await lifeline(optionsFor(p.port), port)
  const stop = p.stop
  p.stop = () => Promise.all([stop(), server.stop()])
  return Object.assign(p, { server })
}
