#!/usr/bin/env node
// `npm test`: installs what the machine lacks (as root), builds, then runs every suite and ends
// with one line, `N passed, N failed`, for the whole run.
//
//   npm test                      everything
//   npm test -- unit server       only those suites (style, size, unit, server, e2e, browser, proxy)
//   npm test -- test/server/limits.test.ts test/proxy/networks.test.ts
//                                 only those files: node:test files by node:test, karma files
//                                 (test/browser/, test/proxy/*.test.ts) in Chromium
//
// `style` and `unit` run from the source: no build (every other suite builds first: the server's
// serve the built script tag).
//
// `browser` is karma over test/browser, once in each engine (Chromium, WebKitGTK, WPE WebKit,
// Firefox ESR; LIFELINE_ENGINES=webkit,firefox picks some, for e2e's lifecycle test too); `proxy`
// is node:test over test/proxy/*.node.test.mjs plus karma over test/proxy/*.test.ts, in Chromium
// only. Both together share Chromium's karma run; KARMA_FILES (comma-separated globs) overrides
// which files karma loads.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import ports from './support/ports.cjs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensure, has } from './support/system.mjs'
import { apacheBinary, haproxyBinary, nginxBinary } from './support/proxies.mjs'
import engineList from './support/engines.cjs'
import { redisBinary, redisCliBinary } from './support/redis.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
process.chdir(root)
const args = process.argv.slice(2).filter((a) => !a.startsWith('-'))
/** Test files named on the command line: karma's (browser, and proxy but for `*.node.test.mjs`) and node:test's. */
const named = args.filter((a) => /\.test\.(ts|mjs)$/.test(a))
const inKarma = (f) => /^test\/(browser|proxy)\//.test(f) && !/\.node\.test\.mjs$/.test(f)
const namedKarma = named.filter(inKarma)
const namedNode = named.filter((f) => !inKarma(f))
const only = args.filter((a) => !named.includes(a))
const want = (s) => !named.length && (!only.length || only.includes(s))
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
    ? readdirSync(dir, { recursive: true })
        .filter((f) => pattern.test(f))
        .map((f) => join(dir, f))
        .sort()
    : []

/** The server files that run alone: processes frozen, killed and restarted on a schedule. */
const ALONE = /cluster[\\/](chaos|nodes|durability|served)\.test\.ts$/

/**
 * node:test over TAP on the files of `dir` (or those listed), `atOnce` at a time; counts come from
 * its `# pass` / `# fail` trailer.
 */
async function nodeSuite(name, dir, pattern, atOnce = 1) {
  const list = Array.isArray(dir) ? dir : files(dir, pattern)
  if (!list.length) return
  const started = Date.now()
  const { code, out } = await run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=' + atOnce, ...list],
    { echo: false },
  )
  const n = (k) => +(new RegExp('^# ' + k + ' (\\d+)', 'm').exec(out) || [0, 0])[1]
  const r = { passed: n('pass'), failed: n('fail') + n('cancelled'), skipped: n('skipped') + n('todo') }
  for (const line of out.split('\n'))
    // A file can fail with every test passed (an unhandled rejection after its test ended): what
    // it wrote on stderr, shown as `# Error: ...`, says why.
    if (
      /^\s*not ok /.test(line) ||
      (r.failed && /^\s+(error|message|expected|actual|location):/.test(line)) ||
      (code && /^\s*# (Error|Warning)\b/.test(line))
    )
      console.log(line)
  if (code && !r.failed) r.failed = 1
  const secs = Math.round((Date.now() - started) / 1000)
  console.log(`[test] ${name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${secs}s`)
  record(name, r)
}

const { ENGINES } = engineList
/** The engines the browser suite runs in: all of them unless LIFELINE_ENGINES names some. */
const engines = (process.env.LIFELINE_ENGINES || Object.keys(ENGINES).join(',')).split(',').filter(Boolean)

async function main() {
  const started = Date.now()
  const unknown = engines.filter((e) => !ENGINES[e])
  if (unknown.length) {
    console.log(`[test] LIFELINE_ENGINES: unknown ${unknown.join(', ')}; known: ${Object.keys(ENGINES).join(', ')}`)
    return finish(started, 1)
  }
  // Chromium for the proxy suite; every engine asked for when the browser or e2e suite runs. One
  // apt-get (or one line saying what to install) for the engines that are missing.
  for (const f of named) if (!existsSync(f)) return finish(started, 1, `no such test file: ${f}`)
  const needed = [...new Set(['chromium', ...(want('browser') || want('e2e') ? engines : [])])].map((e) => ENGINES[e])
  const missing = needed.filter((e) => !e.installed()).flatMap((e) => e.packages)
  const usesBrowsers =
    want('browser') || want('proxy') || want('e2e') || named.some((f) => /^test\/(e2e|browser|proxy)\//.test(f))
  if (usesBrowsers && !ensure(missing, () => needed.every((e) => e.installed()))) return finish(started, 1)
  if (!ensure(['openssl'], () => has('openssl'))) return finish(started, 1)
  // Without a proxy the fault proxies still run; every test of the missing one fails, saying how to install it.
  if (want('proxy') || named.some((f) => f.startsWith('test/proxy/')))
    for (const [pkg, found] of [
      ['nginx', nginxBinary],
      ['apache2', apacheBinary],
      ['haproxy', haproxyBinary],
    ])
      if (!ensure([pkg], () => !!found())) record(pkg, { passed: 0, failed: 1 })
  // The cluster tests run a real redis-server, and redis-cli makes a Redis Cluster of three; without
  // them they fail, saying how to install them.
  const cluster = want('server') || named.some((f) => /^test\/(server|proxy)\//.test(f))
  const redis = () => !!redisBinary() && !!redisCliBinary()
  if (cluster && !ensure(['redis-server', 'redis-tools'], redis)) record('redis', { passed: 0, failed: 1 })
  // Tomcat 10 is the upstream of the gateway and plain-mode browser tests; without it they skip.
  if (want('browser') && !(await import('./support/tomcat.mjs')).ensureTomcat())
    console.log('[test] Tomcat tests will be skipped')
  process.env.CHROME_BIN = process.env.CHROME_BIN || '/usr/bin/chromium'

  // The built bundles are what size, e2e, the browsers and the proxies test, and what the server
  // tests serve (`serveClient`, the gateway command); unit and style run from src alone.
  const fromSource = /^test\/(unit|style)\//
  if (['size', 'server', 'e2e', 'browser', 'proxy'].some(want) || named.some((f) => !fromSource.test(f))) {
    console.log('[test] building')
    const b = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' })
    if (b.status != 0) {
      record('build', { passed: 0, failed: 1 })
      return finish(started)
    }
  }
  if (namedNode.length) await nodeSuite('files', namedNode)
  if (namedKarma.length) {
    const { startControl, stopAll } = await import('./support/fixtures.mjs')
    const ctl = await startControl()
    await browserSuite(engines.length == Object.keys(ENGINES).length ? 'chromium' : engines[0], ctl, namedKarma)
    await stopAll()
    ctl.close()
  }
  if (want('style')) await nodeSuite('style', 'test/style')
  if (want('size')) await nodeSuite('size', 'test/size')
  if (want('unit')) await nodeSuite('unit', 'test/unit')
  // Two files at a time: the server files mostly wait (on timers, Redis, child processes): one at
  // a time they took 424 s here and kept a core a third busy; two at a time, 211-235 s. Except the
  // fault tests, which freeze, kill and restart processes on a schedule and judge what happens
  // around it: alone after the others, as they were written (beside another file, durability's
  // SIGSTOP test failed in 1 of 3 fresh-clone runs).
  if (want('server')) {
    const all = files('test/server')
    await nodeSuite(
      'server',
      all.filter((f) => !ALONE.test(f)),
      undefined,
      2,
    )
    await nodeSuite(
      'server-faults',
      all.filter((f) => ALONE.test(f)),
    )
  }
  if (want('e2e')) await nodeSuite('e2e', 'test/e2e')
  if (want('proxy')) await nodeSuite('proxy', 'test/proxy', /\.node\.test\.mjs$/)
  if (want('browser') || want('proxy')) await browserSuites()
  finish(started)
}

/**
 * One karma run per engine, one after the other (the engines share the control server, Tomcat and
 * two cores): Chromium over test/browser and test/proxy, the others over test/browser. Each
 * engine's count is printed and recorded on its own.
 */
async function browserSuites() {
  const { startControl, stopAll } = await import('./support/fixtures.mjs')
  const ctl = await startControl()
  const browserPattern = want('browser') && 'test/browser/**/*.test.ts'
  const proxyPattern = want('proxy') && 'test/proxy/**/*.test.ts'
  for (const engine of want('browser') ? engines : ['chromium']) {
    const patterns = [browserPattern, engine == 'chromium' && proxyPattern].filter(Boolean)
    await browserSuite(engine, ctl, patterns)
  }
  await stopAll()
  ctl.close()
}

/** One karma run in `engine` over `patterns`, with the control server (and proxies) up. */
async function browserSuite(engine, ctl, patterns) {
  const t0 = Date.now()
  // karma-esbuild writes its entry file in the temp dir and imports the tests by a path relative
  // to it, which breaks ("ci-check/test/...", read as a package) when the checkout itself lives in
  // the temp dir. A fresh directory of its own is never an ancestor of the checkout.
  const tmp = mkdtempSync(join(tmpdir(), 'lifeline-karma-'))
  const env = {
    ...process.env,
    KARMA_ENGINE: engine,
    TMPDIR: tmp,
    LIFELINE_CONTROL_PORT: String(ctl.port),
    KARMA_PORT: process.env.KARMA_PORT || String(await ports.freePort()),
    KARMA_FILES: process.env.KARMA_FILES || patterns.join(','),
  }
  const { code, out } = await run(join(root, 'node_modules/.bin/karma'), ['start', 'karma.conf.cjs'], {
    env,
    echo: true,
  })
  rmSync(tmp, { recursive: true, force: true })
  const results = [...out.matchAll(/^KARMA_RESULT (\{.*\})$/gm)].map((m) => JSON.parse(m[1]))
  // No result line at all: the browser never ran the suite (it could not start, or karma failed).
  const r = { browser: results.map((x) => x.browser).join(', '), passed: 0, failed: results.length ? 0 : 1, skipped: 0 }
  for (const x of results) for (const k of ['passed', 'failed', 'skipped']) r[k] += x[k] || 0
  if (code && !r.failed) r.failed = 1
  const name = (namedKarma.length ? 'files' : want('browser') ? 'browser' : 'proxy-browser') + ':' + engine
  const secs = ((Date.now() - t0) / 1000).toFixed(0)
  const counts = `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`
  console.log(`[test] ${name} (${r.browser || engine}): ${counts} in ${secs}s`)
  record(name, r)
}

function finish(started, forceFail, why) {
  if (why) console.log('[test] ' + why)
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
