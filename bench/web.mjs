// The bench's own web server (serves the measured page, takes its results) and the Chromium
// launcher. Chromium is started as a plain process on the page's URL, never through DevTools, and
// stopped by its process group id once the page has posted its result.
import http from 'node:http'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import chromium from '../test/support/chromium.cjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { CHROMIUM, CHROMIUM_FLAGS } = chromium
const FLAGS = ['--headless=new', ...CHROMIUM_FLAGS]

const FILES = {
  '/bench.html': 'bench/page/bench.html',
  '/bench.js': 'bench/page/bench.js',
  '/clients.js': 'bench/page/clients.js',
  '/phases.js': 'bench/page/phases.js',
  '/dist/lifeline.min.js': 'dist/lifeline.min.js',
  '/vendor/engine.io.min.js': 'node_modules/engine.io-client/dist/engine.io.min.js',
  '/vendor/sockjs.min.js': 'node_modules/sockjs-client/dist/sockjs.min.js',
}
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript' }

function body(req) {
  return new Promise((resolve) => {
    let b = ''
    req.on('data', (c) => (b += c))
    req.on('end', () => resolve(b))
  })
}

/**
 * Start the bench web server. `cpu()` returns the echo servers' process.cpuUsage(); the page asks
 * it before and after each burst.
 */
export function startWeb({ cpu, quiet }) {
  let waiting = null
  const server = http.createServer(async (req, res) => {
    const path = req.url.split('?')[0]
    if (FILES[path]) {
      // Cross-origin isolation gives the page 5 µs timers instead of 100 µs: round trips on
      // loopback are a fraction of a millisecond.
      res.writeHead(200, {
        'Content-Type': TYPES[path.split('.').pop()],
        'Cache-Control': 'no-store',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      })
      return res.end(readFileSync(join(root, FILES[path])))
    }
    if (path == '/cpu') return res.end(JSON.stringify(await cpu()))
    if (req.method == 'POST' && path == '/log') {
      const m = JSON.parse(await body(req))
      if (!quiet) console.log(`  [page ${m.case}] ${m.text}`)
      return res.end()
    }
    if (req.method == 'POST' && path == '/result') {
      const out = JSON.parse(await body(req))
      res.end()
      if (waiting) waiting(out)
      return
    }
    res.writeHead(404).end()
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = server.address().port
      resolve({
        port,
        close: () => new Promise((r) => server.close(r)),
        /** Open the page with `query` in a fresh Chromium; resolves to what it posts. */
        async runPage(query, ms) {
          const got = new Promise((r) => (waiting = r))
          const url = `http://127.0.0.1:${port}/bench.html?${new URLSearchParams(query)}`
          try {
            return await withBrowser(url, got, ms)
          } finally {
            waiting = null
          }
        },
      })
    }),
  )
}

/** `Chromium 156.0.8078.79`, as the binary says (the page's user agent is reduced). */
export function chromiumVersion() {
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' })
  return (/([\d.]+)/.exec(r.stdout || '') || [])[1] || 'unknown'
}

const live = new Set()
/** Stop every Chromium this process started (on Ctrl-C). */
export function stopBrowsers() {
  for (const pid of live) signal(pid, 'SIGKILL')
}

function signal(pid, s) {
  try {
    process.kill(-pid, s)
  } catch {}
}

function launch(args) {
  const profile = mkdtempSync(join(tmpdir(), 'lifeline-bench-chromium-'))
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  live.add(child.pid)
  const exited = new Promise((r) => child.once('exit', r)).then(() => live.delete(child.pid))
  return { child, profile, exited }
}

/** A PNG of a local HTML file, `height` CSS pixels tall; resolves to true when written. */
export async function screenshot(htmlFile, pngFile, width, height) {
  const { child, profile, exited } = launch([
    '--hide-scrollbars',
    `--window-size=${width},${height}`,
    `--screenshot=${pngFile}`,
    'file://' + htmlFile,
  ])
  child.stderr.resume()
  const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 30000))])
  if (!done) await killGroup(child, exited)
  rmSync(profile, { recursive: true, force: true })
  return done
}

async function withBrowser(url, result, ms) {
  // CHROME_LOG=1 shows Chromium's log, the page's console included.
  const log = process.env.CHROME_LOG ? ['--enable-logging=stderr', '--v=0'] : []
  const { child, profile, exited } = launch([...log, url])
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000)
    if (log.length) process.stderr.write(d)
  })
  let timer
  try {
    const early = exited.then(() => Promise.reject(new Error('Chromium exited early: ' + stderr.slice(-800))))
    const late = new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms)),
    )
    return await Promise.race([result, early, late])
  } finally {
    clearTimeout(timer)
    await killGroup(child, exited)
    rmSync(profile, { recursive: true, force: true })
  }
}

/** Chromium forks helpers into its process group: stop that group, which we started. */
async function killGroup(child, exited) {
  signal(child.pid, 'SIGTERM')
  const hard = setTimeout(() => signal(child.pid, 'SIGKILL'), 3000)
  await exited
  clearTimeout(hard)
  // Helpers can outlive the main process by a moment; make sure the group is gone.
  signal(child.pid, 'SIGKILL')
}
