// The script-tag builds as a page loads them, in every engine: lifeline.min.js alone, then its
// add-ons, lifeline.diagnose.min.js (`Lifeline.diagnose`), lifeline.plain.min.js (`Lifeline.Plain`)
// and lifeline.request.min.js (`Lifeline.request`), which take their base classes from the global and
// reach its internals by the names the main build gave them (rollup.config.mjs shares one table of
// mangled names).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { WebSocketServer } from 'ws'
import { LifelineServer, onRequest } from '../../dist/server.mjs'
import { ENGINES, launch, until } from './engines.mjs'

const FILES = ['lifeline.min.js', 'lifeline.diagnose.min.js', 'lifeline.plain.min.js', 'lifeline.request.min.js']
const dist = Object.fromEntries(FILES.map((f) => [f, readFileSync(new URL('../../dist/' + f, import.meta.url))]))

/** One loopback origin: the page, the three scripts, a Lifeline echo at /rt, a plain ws echo at /plain. */
async function serve() {
  const server = http.createServer((req, res) => {
    const file = req.url.slice(1)
    if (dist[file]) return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(dist[file])
    const tags = FILES.map((f) => `<script src="/${f}"></script>`).join('')
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html>' + tags)
  })
  const ll = new LifelineServer({ server, path: '/rt' })
  ll.on('connection', (s) => {
    s.on('message', (m) => s.send(m))
    onRequest(s, (data) => {
      if (data == 'fail') throw new Error('no')
      return data == 'never' ? new Promise(() => {}) : 'reply to ' + data
    })
  })
  const plain = new WebSocketServer({ noServer: true })
  plain.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(binary ? d : String(d))))
  server.on('upgrade', (req, socket, head) => {
    if (req.url == '/plain') plain.handleUpgrade(req, socket, head, (ws) => plain.emit('connection', ws))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const close = async () => {
    ll.close()
    plain.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
  return { url: `http://127.0.0.1:${server.address().port}/`, close }
}

for (const engine of ENGINES) {
  describe(`script tag in ${engine}`, () => {
    let browser
    let site
    let page
    before(async () => {
      site = await serve()
      browser = await launch(engine)
      page = await browser.newPage(site.url)
      await until(
        page,
        () => typeof Lifeline == 'function' && !!Lifeline.diagnose && !!Lifeline.Plain && !!Lifeline.request,
      )
    })
    after(async () => {
      if (page) await page.close()
      if (browser) await browser.close()
      if (site) await site.close()
    })

    test('lifeline.min.js: the global is the constructor, with its classes on it; an echo comes back', async () => {
      await page.evaluate(() => {
        const got = (window.got = [])
        const ll = (window.ll = new Lifeline('/rt', { storage: null }))
        ll.onmessage = (e) => got.push(e.data)
        ll.send('hi')
      })
      await until(page, () => window.got.length == 1)
      const seen = await page.evaluate(() => ({
        got: window.got,
        classes: [Lifeline.Lifeline === Lifeline, typeof Lifeline.LifelineCore, typeof Lifeline.LifelineError],
      }))
      assert.deepEqual(seen, { got: ['hi'], classes: [true, 'function', 'function'] })
    })

    test('lifeline.diagnose.min.js: Lifeline.diagnose tries each transport and finds them all working', async () => {
      await page.evaluate(() => Lifeline.diagnose('/rt').then((r) => (window.report = r)))
      await until(page, () => !!window.report, undefined, 20000)
      const r = await page.evaluate(() => window.report)
      assert.equal(r.best, 'websocket')
      assert.deepEqual(
        r.results.map((x) => [x.transport, x.ok, x.reason]),
        [
          ['websocket', true, 'ok'],
          ['stream', true, 'ok'],
          ['polling', true, 'ok'],
        ],
      )
    })

    test('lifeline.request.min.js: Lifeline.request gets replies, rejects with Lifeline.LifelineError', async () => {
      await page.evaluate(() => {
        const ll = new Lifeline('/rt', { storage: null })
        const caught = (p) =>
          p.then(
            (v) => ['resolved', v],
            (e) => ['rejected', e instanceof Lifeline.LifelineError, e.code],
          )
        Promise.all([
          Lifeline.request(ll, 'hello'),
          caught(Lifeline.request(ll, 'fail')),
          caught(Lifeline.request(ll, 'never', { timeout: 300 })),
        ]).then((r) => (window.requested = r))
      })
      await until(page, () => !!window.requested, undefined, 10000)
      assert.deepEqual(await page.evaluate(() => window.requested), [
        'reply to hello',
        ['rejected', true, 'LL_ERR_SERVER'],
        ['rejected', true, 'LL_ERR_TIMEOUT'],
      ])
    })

    test('lifeline.plain.min.js: Lifeline.Plain talks to a plain WebSocket server, text and binary', async () => {
      await page.evaluate((url) => {
        const got = (window.plainGot = [])
        const p = new Lifeline.Plain(url.replace('http', 'ws') + 'plain')
        p.binaryType = 'arraybuffer'
        p.onmessage = (e) => got.push(typeof e.data == 'string' ? e.data : [...new Uint8Array(e.data)])
        p.send('plain hello')
        p.send(new Uint8Array([1, 2, 3]))
      }, site.url)
      await until(page, () => window.plainGot.length == 2)
      assert.deepEqual(await page.evaluate(() => window.plainGot), ['plain hello', [1, 2, 3]])
    })
  })
}
