// Page lifecycle in real Chromium, Firefox and WebKitGTK against the real server: a page frozen
// and resumed (as mobile browsers and bfcache do), and the network going offline and back. Within
// the session's TTL the session resumes with nothing lost; past it, the reset is visible.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { LifelineServer } from '../../dist/server.mjs'
import { ENGINES, launch, until } from './engines.mjs'

const script = readFileSync(new URL('../../dist/lifeline.min.js', import.meta.url))

/** A page and a Lifeline server on one loopback origin; the page keeps what it sees in `window.seen`. */
async function setup(browser, serverOptions, clientOptions) {
  const server = http.createServer((req, res) => {
    if (req.url == '/lifeline.min.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script)
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><script src="/lifeline.min.js"></script>')
  })
  const ll = new LifelineServer({ server, path: '/rt', ...serverOptions })
  const sessions = []
  ll.on('connection', (s) => {
    sessions.push(s)
    s.on('message', (m) => s.send(m))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const page = await browser.newPage(`http://127.0.0.1:${server.address().port}/`)
  await page.evaluate(
    (opts) => {
      const seen = (window.seen = { messages: [], resets: 0, reconnecting: [], open: 0, state: [], log: [] })
      const t0 = Date.now()
      const line = (...a) => seen.log.push(Date.now() - t0 + ' ' + a.join(' '))
      const ll = (window.ll = new Lifeline('/rt', {
        ...opts,
        debug: true,
        logger: { debug: line, info: line, warn: line },
      }))
      ll.on('message', (e) => seen.messages.push(e.data))
      ll.on('reset', () => seen.resets++)
      ll.on('open', () => seen.open++)
      ll.on('reconnecting', (e) => seen.reconnecting.push(e.cause))
      ll.on('state', (e) => seen.state.push(e.current))
    },
    { storage: null, ...clientOptions },
  )
  await until(page, () => window.ll.state == 'open')
  await until(page, () => true)
  const close = async () => {
    await page.close()
    ll.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
  return { page, ll, sessions, close }
}

/** Wait, on the server's side, until `cond` holds: polled every 50 ms, failing after `ms`. */
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(what + ': not within ' + ms + ' ms')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Freeze the page as a mobile browser does: no script runs, no timer fires, events queue up.
 * Headless pages are always visible, so no engine's lifecycle freezes them: Chromium's page is
 * paused in the debugger, Firefox's and WebKit's web content processes are suspended
 * (test/e2e/engines.mjs). On waking, the browser fires `resume`, which the page gets here too, as
 * docs/webviews.md tells native code to send it.
 */
async function freeze(page, state) {
  if (state == 'frozen') return page.freeze()
  await page.wake()
  await page.evaluate(() => document.dispatchEvent(new Event('resume')))
}

for (const engine of ENGINES)
  describe(engine, () => {
    let browser

    before(async () => {
      browser = await launch(engine)
    })
    after(async () => {
      await browser.close()
    })

    test('a page frozen and resumed within the session TTL resumes the session: no reset, nothing lost', async () => {
      const t = await setup(
        browser,
        { heartbeatInterval: 1000, heartbeatTimeout: 1000, sessionTtl: 30000, sweepInterval: 200 },
        { heartbeatInterval: 1000, heartbeatTimeout: 1000 },
      )
      await until(t.page, () => true)
      assert.equal(t.sessions.length, 1)
      await freeze(t.page, 'frozen')
      // While frozen the page answers no heartbeat: the server drops the connection but keeps the session.
      for (let i = 0; i < 5; i++) t.sessions[0].send('while frozen ' + i)
      await waitFor(
        () => Object.keys(t.sessions[0]._store._links).length == 0,
        10000,
        'the frozen page lost its connection',
      )
      assert.equal(t.ll.sessions.size, 1, 'the session is kept for its TTL')
      await freeze(t.page, 'active')
      await until(t.page, () => window.seen.messages.length >= 5)
      const seen = await t.page.evaluate(() => window.seen)
      assert.deepEqual(
        seen.messages,
        [0, 1, 2, 3, 4].map((i) => 'while frozen ' + i),
      )
      assert.equal(seen.resets, 0)
      assert.equal(seen.open, 1, 'open fired once')
      assert.equal(t.sessions.length, 1, 'the same session')
      await t.close()
    })

    test('a page frozen past the session TTL comes back to a visible reset and a new session', async () => {
      const t = await setup(
        browser,
        { heartbeatInterval: 1000, heartbeatTimeout: 500, sessionTtl: 1000, sweepInterval: 200 },
        { heartbeatInterval: 1000, heartbeatTimeout: 500 },
      )
      await t.page.evaluate(() => window.ll.send('before'))
      await until(t.page, () => window.seen.messages.length == 1)
      await freeze(t.page, 'frozen')
      await waitFor(() => t.ll.sessions.size == 0, 10000, 'the server expired the session')
      await freeze(t.page, 'active')
      await until(t.page, () => window.seen.resets == 1 && window.ll.state == 'open').catch(async (e) => {
        throw new Error(e.message + ' ' + JSON.stringify(await t.page.evaluate(() => window.seen)))
      })
      await t.page.evaluate(() => window.ll.send('after'))
      await until(t.page, () => window.seen.messages.length == 2).catch(async (e) => {
        throw new Error(e.message + ' ' + JSON.stringify(await t.page.evaluate(() => window.seen)))
      })
      const seen = await t.page.evaluate(() => window.seen)
      assert.deepEqual(seen.messages, ['before', 'after'])
      assert.equal(seen.open, 2, 'open fires for the new session: ' + JSON.stringify(seen))
      assert.equal(t.sessions.length, 2)
      await t.close()
    })

    test('offline then online: the online event reconnects at once instead of waiting out the backoff', async (ctx) => {
      // WebKitWebDriver has no network emulation; WebKit's network process takes "online" from the
      // system's network monitor, which cannot be switched for one browser.
      if (!browser.offline) return ctx.skip(`${engine}: no offline emulation in its driver`)
      const t = await setup(
        browser,
        { sessionTtl: 30000 },
        { minDelay: 30000, maxDelay: 30000, transports: ['websocket'] },
      )
      await t.page.setOffline(true)
      // The connection dies while offline; the first retry fails, the next waits 0-30 s.
      for (const l of Object.values(t.sessions[0]._store._links)) l.ws.terminate()
      await until(t.page, () => window.seen.reconnecting.length >= 2, undefined, 10000)
      t.sessions[0].send('missed while offline')
      const t0 = Date.now()
      await t.page.setOffline(false)
      await until(t.page, () => window.ll.state == 'open' && window.seen.messages.length == 1, undefined, 10000)
      const waited = Date.now() - t0
      const seen = await t.page.evaluate(() => window.seen)
      assert.deepEqual(seen.messages, ['missed while offline'])
      assert.equal(seen.resets, 0)
      assert.ok(waited < 5000, `back ${waited} ms after going online, not after the backoff`)
      await t.close()
    })
  })
