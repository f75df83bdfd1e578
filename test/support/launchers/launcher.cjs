// What the WebKit and Firefox karma launchers share: karma's browser life cycle (start, capture
// timeout, retry, kill) around an `open(url)` that resolves to a running browser with `close()`,
// and the child processes they start, each stopped by its own pid.
const { spawn } = require('node:child_process')
const { readdirSync, readFileSync } = require('node:fs')
const { freePort } = require('../ports.cjs')
const http = require('node:http')

/** How long a browser may take to close politely before its processes are killed. */
const CLOSE_DEADLINE_MS = 10000
/** How long a killed process may take to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3000

/**
 * A karma launcher plugin named `name`: `open(url, { log, crashed })` starts the browser at karma's
 * capture URL and resolves to `{ close(): Promise<void> }`; it calls `crashed(why)` if the browser
 * or a process it needs dies on its own.
 *
 * @example
 *   module.exports = launcher('WebKitGTK', async (url) => ({ close: async () => {} }))
 */
function launcher(name, open) {
  function Launcher(baseLauncherDecorator, captureTimeoutLauncherDecorator, retryLauncherDecorator, logger) {
    baseLauncherDecorator(this)
    captureTimeoutLauncherDecorator(this)
    retryLauncherDecorator(this)
    const log = logger.create('launcher:' + name)
    this.name = name
    let running = null
    const crashed = (why) => {
      if (this.state == this.STATE_BEING_CAPTURED || this.state == this.STATE_CAPTURED) {
        log.error(`${name} ${why}`)
        this._done('crashed')
      }
    }
    this.on('start', (url) => {
      running = open(url, { log, crashed })
      running.catch((e) => {
        log.error(`cannot start ${name}: ${e && e.stack}`)
        this._done('cannot start')
      })
    })
    this.on('kill', (done) => {
      const current = running
      running = null
      const closed = current ? current.then((browser) => browser.close()).catch(() => undefined) : Promise.resolve()
      closed.then(() => {
        if (this.state != this.STATE_FINISHED) this._done()
        done()
      })
    })
  }
  Launcher.$inject = ['baseLauncherDecorator', 'captureTimeoutLauncherDecorator', 'retryLauncherDecorator', 'logger']
  return { ['launcher:' + name]: ['type', Launcher] }
}

/**
 * Start a child process we own; `stop()` ends it by its pid (SIGTERM, then SIGKILL after a grace
 * period) and resolves once it has exited. `onExit(fn)` hears an exit we did not ask for.
 */
function child(command, args, options = {}) {
  const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options })
  let stderr = ''
  if (proc.stderr) proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  let stopping = false
  const exited = new Promise((resolve) => {
    proc.on('exit', resolve)
    proc.on('error', resolve)
  })
  return {
    proc,
    pid: proc.pid,
    stderr: () => stderr,
    onExit(fn) {
      exited.then((code) => stopping || fn(`${command} exited (${code}): ${stderr.trim().slice(-500)}`))
    },
    async stop() {
      stopping = true
      const alive = () => proc.pid && proc.exitCode == null && proc.signalCode == null
      if (!alive()) return
      process.kill(proc.pid, 'SIGTERM')
      const timer = setTimeout(() => alive() && process.kill(proc.pid, 'SIGKILL'), KILL_GRACE_MS)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Resolve once GET `url` answers 200, polling every 50 ms; reject after `ms`. */
async function answering(url, ms) {
  const end = Date.now() + ms
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = http.get(url, (res) => {
        res.resume()
        resolve(res.statusCode == 200)
      })
      req.on('error', () => resolve(false))
      req.setTimeout(1000, () => req.destroy())
    })
    if (ok) return
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** `promise`, or undefined after `ms` (for polite shutdowns that might hang). */
const within = (promise, ms) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    Promise.resolve(promise)
      .catch(() => undefined)
      .then(() => {
        clearTimeout(timer)
        resolve()
      })
  })

/**
 * Every process below `pid` (children, theirs, ...) as `{ pid, command }`, read from /proc: the
 * e2e tests find a browser's web content processes this way to suspend them. `command` is the
 * command line joined by spaces (Firefox's fork server gives its children one such string).
 */
function descendants(pid) {
  const procs = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The parent pid is the 2nd field after the command name, which is in parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = +stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim()
      procs.push({ pid: +entry, parent, command })
    } catch {
      // It exited while we looked.
    }
  }
  const found = []
  const below = [pid]
  while (below.length) {
    const parent = below.pop()
    for (const p of procs.filter((x) => x.parent == parent)) {
      found.push({ pid: p.pid, command: p.command })
      below.push(p.pid)
    }
  }
  return found
}

module.exports = { launcher, child, freePort, answering, within, descendants, CLOSE_DEADLINE_MS }
