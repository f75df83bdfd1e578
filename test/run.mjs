#!/usr/bin/env node
// `npm test`: installs what the machine lacks (as root), builds, then runs every suite and ends
// with one line, `N passed, N failed`, for the whole run.
//
//   npm test                      everything
//   npm test -- unit server       only those suites (unit, server, size, browser, proxy)
//
// `browser` is karma over test/browser; `proxy` is node:test over test/proxy/*.node.test.mjs plus
// karma over test/proxy/*.test.ts. Both together share one karma run, counted as `browser`;
// KARMA_FILES (comma-separated globs) overrides which files karma loads.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensure, has } from './support/system.mjs'
import { nginxBinary } from './support/proxies.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
process.chdir(root)
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const want = (s) => !only.length || only.includes(s)
const totals = { passed: 0, failed: 0, skipped: 0 }
const rows = []

function record(suite, r) {
  rows.push([suite, r])
  for (const k of Object.keys(totals)) totals[k] += r[k] || 0
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (opts.echo !== false) process.stdout.write(d)
    })
    child.on('close', (code) => resolve({ code, out }))
  })
}

const files = (dir, pattern = /\.test\.(ts|mjs)$/) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true }).filter((f) => pattern.test(f)).map((f) => join(dir, f)).sort()
    : []

/** node:test over TAP; counts come from its `# pass` / `# fail` trailer. */
async function nodeSuite(name, dir, pattern) {
  const list = files(dir, pattern)
  if (!list.length) return
  const { code, out } = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...list], { echo: false })
  const n = (k) => +(new RegExp('^# ' + k + ' (\\d+)', 'm').exec(out) || [0, 0])[1]
  const r = { passed: n('pass'), failed: n('fail') + n('cancelled'), skipped: n('skip') + n('todo') }
  for (const line of out.split('\n')) if (/^\s*not ok /.test(line) || (r.failed && /^\s+(error|message|expected|actual|location):/.test(line))) console.log(line)
  if (code && !r.failed) r.failed = 1
  console.log(`[test] ${name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`)
  record(name, r)
}

async function main() {
  const started = Date.now()
  const chromium = () => existsSync(process.env.CHROME_BIN || '/usr/bin/chromium')
  if ((want('browser') || want('proxy') || want('e2e')) && !ensure(['chromium'], chromium)) return finish(started, 1)
  if (!ensure(['openssl'], () => has('openssl'))) return finish(started, 1)
  // Without nginx the fault proxies still run; every nginx test fails, saying how to install it.
  if (want('proxy') && !ensure(['nginx'], () => !!nginxBinary())) record('nginx', { passed: 0, failed: 1 })
  // Tomcat 10 is the upstream of the gateway and plain-mode browser tests; without it they skip.
  if (want('browser') && !(await import('./support/tomcat.mjs')).ensureTomcat()) console.log('[test] Tomcat tests will be skipped')
  process.env.CHROME_BIN = process.env.CHROME_BIN || '/usr/bin/chromium'

  console.log('[test] building')
  const b = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' })
  if (b.status != 0) {
    record('build', { passed: 0, failed: 1 })
    return finish(started)
  }
  if (want('size')) await nodeSuite('size', 'test/size')
  if (want('unit')) await nodeSuite('unit', 'test/unit')
  if (want('server')) await nodeSuite('server', 'test/server')
  if (want('e2e')) await nodeSuite('e2e', 'test/e2e')
  if (want('proxy')) await nodeSuite('proxy', 'test/proxy', /\.node\.test\.mjs$/)
  if (want('browser') || want('proxy')) await browserSuite()
  finish(started)
}

/** One karma run over every browser-side file, with the control server (and proxies) up. */
async function browserSuite() {
  const { startControl, stopAll } = await import('./support/fixtures.mjs')
  const ctl = await startControl()
  const patterns = [want('browser') && 'test/browser/**/*.test.ts', want('proxy') && 'test/proxy/**/*.test.ts'].filter(Boolean)
  // karma-esbuild writes its entry file in the temp dir and imports the tests by a path relative
  // to it, which breaks ("ci-check/test/...", read as a package) when the checkout itself lives in
  // the temp dir. A fresh directory of its own is never an ancestor of the checkout.
  const tmp = mkdtempSync(join(tmpdir(), 'lifeline-karma-'))
  const env = { ...process.env, TMPDIR: tmp, LIFELINE_CONTROL_PORT: String(ctl.port), KARMA_PORT: process.env.KARMA_PORT || String(await freePort()), KARMA_FILES: process.env.KARMA_FILES || patterns.join(',') }
  const { code, out } = await run(join(root, 'node_modules/.bin/karma'), ['start', 'karma.conf.cjs'], { env, echo: true })
  rmSync(tmp, { recursive: true, force: true })
  const m = /KARMA_RESULT (\{.*\})/.exec(out)
  const r = m ? JSON.parse(m[1]) : { passed: 0, failed: 1 }
  if (code && !r.failed) r.failed = 1
  const name = want('browser') ? 'browser' : 'proxy-browser'
  console.log(`[test] ${name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped || 0} skipped`)
  record(name, r)
  await stopAll()
  ctl.close()
}

/** A free loopback port (several checkouts may test at once). */
function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function finish(started, forceFail) {
  if (forceFail) totals.failed += forceFail
  const secs = ((Date.now() - started) / 1000).toFixed(0)
  console.log(`\n[test] ${rows.map(([s, r]) => `${s} ${r.passed}/${r.passed + r.failed}`).join(', ')} in ${secs}s`)
  console.log(`${totals.passed} passed, ${totals.failed} failed`)
  process.exit(totals.failed ? 1 : 0)
}

main().catch((e) => {
  console.error(e)
  finish(Date.now(), 1)
})
