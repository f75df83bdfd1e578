// docs/frameworks.md's React hook and Vue composable (examples/spa/), built with esbuild as an app
// would build them and run in real Chromium against the real server: the page gets what the
// server pushes, sends, and when the component tree unmounts its Lifeline is closed (the server
// sees the session end with 1000). React runs under StrictMode's development build, which mounts,
// unmounts and mounts again: exactly one session stays open.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { LifelineServer } from '../../dist/server.mjs'
import { launch, until } from './chromium.mjs'

const here = (f) => fileURLToPath(new URL(f, import.meta.url))
let browser

before(async () => {
  browser = await launch()
})
after(() => browser.close())

/** The app's bundle, as esbuild makes it for a browser. */
async function bundle(entry) {
  const out = await build({
    entryPoints: [here(entry)],
    bundle: true,
    write: false,
    format: 'iife',
    jsx: 'automatic',
    logLevel: 'silent',
    define: {
      'process.env.NODE_ENV': '"development"',
      __VUE_OPTIONS_API__: 'false',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    },
  })
  return out.outputFiles[0].text
}

/** A server for the page, its bundle and Lifeline at /rt; it pushes a welcome and answers each message. */
async function serve(script) {
  const server = http.createServer((req, res) => {
    if (req.url == '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<!doctype html><div id="app"></div><script src="/app.js"></script>')
  })
  const ll = new LifelineServer({ server, path: '/rt' })
  const sessions = { opened: 0, closed: [] }
  ll.on('connection', (session) => {
    sessions.opened++
    session.send('welcome')
    session.on('message', (m) => session.send('heard: ' + m))
    session.on('close', (code) => sessions.closed.push(code))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stop = () => (ll.close(), new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${server.address().port}/`, sessions, stop }
}

/** Wait in Node for `fn()` to hold, with a deadline. */
async function waitFor(fn, what, ms = 10000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what)
    await new Promise((r) => setTimeout(r, 20))
  }
}

for (const [name, entry] of [
  ['React', 'spa/react-app.jsx'],
  ['Vue', 'spa/vue-app.js'],
]) {
  test(`${name}: the recipe connects, gets the server's push, sends, and closes on unmount`, async () => {
    const app = await serve(await bundle(entry))
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(app.url)
      await until(page, () => document.querySelector('#lines li')?.textContent == 'welcome')
      assert.equal(await page.textContent('#state'), 'open')
      await page.click('#send')
      await until(page, () => [...document.querySelectorAll('#lines li')].some((li) => /^heard: /.test(li.textContent)))
      const lines = await page.$$eval('#lines li', (lis) => lis.map((li) => li.textContent))
      assert.deepEqual(lines, ['welcome', `heard: hello from ${name.toLowerCase()}`])
      // One session open: StrictMode's first mount (React) was closed by its cleanup.
      await waitFor(() => app.sessions.opened - app.sessions.closed.length == 1, 'one open session')
      await page.evaluate(() => window.unmount())
      await waitFor(() => app.sessions.closed.length == app.sessions.opened, 'every session closed')
      assert.ok(
        app.sessions.closed.every((code) => code == 1000),
        app.sessions.closed.join(),
      )
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
      await app.stop()
    }
  })
}
