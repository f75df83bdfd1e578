// The examples end to end in real Chromium: the README's Hello world (examples/hello.mjs, run as
// the README says), examples/serve.mjs as a child process (as `npm start`
// runs it), the ticker and the chat as a reader would use them, and the proxy demo
// (`npm run demo:proxy`) falling back through nginx without WebSocket upgrades. Every page is
// served under a strict Content-Security-Policy, and none may violate it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { launch, until } from './chromium.mjs'
import { nginxBinary } from '../support/proxies.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
let browser
let app

/** Run an example script as a child; resolves once its stdout shows `ready`, with what matched. */
function child(args, env, ready) {
  const proc = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} printed no ${ready} within 10 s:\n${out}`)),
      10000,
    )
    const look = (d) => {
      out += d
      const m = ready.exec(out)
      if (m) (clearTimeout(timer), resolve(m))
    }
    proc.stdout.on('data', look)
    proc.stderr.on('data', look)
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)))
  })
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode != null || proc.signalCode) return resolve()
      proc.once('exit', resolve)
      process.kill(proc.pid, 'SIGTERM')
    })
  return { proc, match, stop }
}

/** A fresh page at `url` that records CSP violations and page errors. */
async function open(context, url) {
  const page = await context.newPage()
  const problems = []
  page.on('pageerror', (e) => problems.push('page error: ' + e.message))
  await page.addInitScript(() => {
    window.violations = []
    document.addEventListener('securitypolicyviolation', (e) =>
      window.violations.push(e.violatedDirective + ' ' + e.blockedURI),
    )
  })
  await page.goto(url)
  page.check = async () => {
    const violations = await page.evaluate(() => window.violations)
    assert.deepEqual([...problems, ...violations], [], 'no page errors, no CSP violations')
  }
  return page
}

const field = (page, name) => page.textContent(`#status [data-k="${name}"]`)

before(async () => {
  browser = await launch()
  app = child(['examples/serve.mjs'], { PORT: '0' }, /http:\/\/localhost:(\d+)\//)
  app.url = `http://127.0.0.1:${(await app.match)[1]}/`
})
after(async () => {
  await browser.close()
  await app.stop()
})

test("README's Hello world: the page prints the server's welcome, pushed on connection, then its answer", async () => {
  const hello = child(['examples/hello.mjs'], { PORT: '0' }, /open http:\/\/localhost:(\d+)/)
  try {
    const context = await browser.newContext()
    const page = await open(context, `http://127.0.0.1:${(await hello.match)[1]}/`)
    await until(page, () => /the server heard/.test(document.body.innerText))
    assert.deepEqual((await page.innerText('body')).trim().split('\n'), [
      'welcome: the server pushed this when you connected',
      'the server heard: hello from the page',
    ])
    await page.check()
    await context.close()
  } finally {
    await hello.stop()
  }
})

// Diagnose finds every transport working
test('ticker: connects over WebSocket, rates change, a trade is confirmed', async () => {
  const context = await browser.newContext()
  const page = await open(context, app.url + 'ticker/')
  await until(page, () => /live, via websocket/.test(document.getElementById('line').textContent))
  assert.equal(await field(page, 'transport'), 'websocket')
  assert.equal(await field(page, 'why'), 'preferred')
  await until(page, () => document.querySelectorAll('#rates tbody tr').length == 6)
  const first = await page.textContent('#rates tbody tr td:nth-child(2)')
  await until(page, (was) => document.querySelector('#rates tbody tr td:nth-child(2)').textContent != was, first)

  await page.selectOption('#trade [name=pair]', 'USD/JPY')
  await page.click('#trade button')
  await until(page, () => /confirmed/.test(document.querySelector('#trades li').textContent))
  assert.match(await page.textContent('#trades li'), /^buy 100000 USD\/JPY at 1\d\d\.\d{3}: confirmed$/)

  await page.click('#status button')
  await until(page, () => /^best:/.test(document.querySelector('#status pre').textContent))
  const report = (await page.textContent('#status pre')).split('\n')
  assert.equal(report[0], 'best: websocket')
  assert.deepEqual(
    report.slice(1).map((l) => l.split(/ +/).slice(0, 2).join(' ')),
    ['websocket ok', 'stream ok', 'polling ok'],
  )
  await page.check()
  await context.close()
})

test('chat: two pages talk; one drops for 5 s, and what was sent meanwhile arrives once, both ways', async () => {
  const context = await browser.newContext()
  const [a, b] = [await open(context, app.url + 'chat/'), await open(context, app.url + 'chat/')]
  for (const p of [a, b]) await until(p, () => /connected via/.test(document.getElementById('line').textContent))
  const say = async (page, text) => {
    await page.fill('#say input', text)
    await page.press('#say input', 'Enter')
  }
  const texts = (page) => page.$$eval('#messages li:not(.pending)', (lis) => lis.map((li) => li.lastChild.textContent))
  const has = (page, list) =>
    until(
      page,
      (l) =>
        l.every((t) =>
          [...document.querySelectorAll('#messages li:not(.pending)')].some((li) => li.lastChild.textContent == t),
        ),
      list,
    )

  await say(a, 'hello from a')
  await has(b, ['hello from a'])
  await say(b, 'hello from b')
  await has(a, ['hello from b'])

  await a.click('#drop')
  await until(a, () => /reconnecting/.test(document.getElementById('line').textContent))
  await say(b, 'while a was away')
  await say(a, 'typed while away')
  await has(b, ['while a was away'])
  assert.equal(await a.locator('#messages li.pending').count(), 1, "a's message waits")
  // Back after the 5 s drop (the page fires `online`), with what it missed and what it queued.
  await has(a, ['while a was away', 'typed while away'])
  await has(b, ['typed while away'])
  for (const p of [a, b]) {
    const seen = await texts(p)
    assert.deepEqual(
      seen.filter((t) => t == 'while a was away' || t == 'typed while away').sort(),
      ['typed while away', 'while a was away'],
      'each once',
    )
  }
  assert.equal(await field(a, 'resets'), '-', 'the session resumed: no reset')
  assert.match(await field(a, 'reconnects'), /^\d+: /)
  await a.check()
  await b.check()
  await context.close()
})

test(
  'demo:proxy nginx-no-upgrade: the ticker falls back to streaming, and says why',
  { skip: !nginxBinary() && 'nginx is not installed' },
  async () => {
    const demo = child(['examples/proxy.mjs', 'nginx-no-upgrade'], {}, /Open (http:\/\/127\.0\.0\.1:\d+\/ticker\/)/)
    try {
      const url = (await demo.match)[1]
      const context = await browser.newContext()
      const page = await open(context, url)
      await until(page, () => /live, via stream/.test(document.getElementById('line').textContent))
      assert.equal(await field(page, 'transport'), 'stream')
      assert.equal(await field(page, 'why'), 'websocket-refused')
      await until(page, () => document.querySelectorAll('#rates tbody tr').length == 6)
      await page.click('#trade button')
      await until(page, () => /confirmed/.test(document.querySelector('#trades li').textContent))
      await page.check()
      await context.close()
    } finally {
      await demo.stop()
    }
  },
)
