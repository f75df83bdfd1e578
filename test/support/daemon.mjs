// A real proxy process (nginx, Apache httpd, HAProxy) started in the foreground from a config
// written into a temp dir of its own, on a free loopback port, and stopped by its pid. Shared by
// test/support/proxies.mjs.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.cjs'

/** `name`'s binary: `$<NAME>_BIN`, /usr/sbin/<name>, or on the PATH; undefined when missing. */
export function binary(name) {
  const env = process.env[name.toUpperCase() + '_BIN']
  if (env) return existsSync(env) ? env : undefined
  if (existsSync('/usr/sbin/' + name)) return '/usr/sbin/' + name
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return (r.status == 0 && r.stdout.trim()) || undefined
}

/**
 * Start `bin` with `args(dir, port)` after `setup(dir, port)` wrote its config into a fresh temp
 * dir; resolves once `dir/<pidFile>` exists and the port accepts connections (the pid file is
 * written after binding, so the answer is then this process's and not another that took the
 * port first). Another checkout may take the free port first: then it tries another, 5 times.
 * @returns {Promise<{ kind: string, port: number, pid: number, dir: string, stop(): Promise<void> }>}
 */
export async function startDaemon({ kind, bin, install, setup, args, pidFile, errorLog = 'error.log' }) {
  if (!bin) throw new Error(`${kind}: not installed: run \`sudo apt-get install -y ${install}\``)
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `lifeline-${kind}-`))
    const port = await freePort()
    setup(dir, port)
    const child = spawn(bin, args(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    let gone = false
    const exited = new Promise((resolve) => child.once('exit', () => resolve((gone = true))))
    const up = await until(
      () => !gone && existsSync(join(dir, pidFile)) && accepts(port),
      () => gone,
      5000,
    )
    if (up) {
      killOnExit.add(child.pid)
      const stop = async () => {
        killOnExit.delete(child.pid)
        // TERM is a fast shutdown for all three: the parent stops its workers, then exits.
        if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
        if (!(await within(exited, 5000))) {
          child.kill('SIGKILL')
          await exited
        }
        // A master can exit a few ms before its workers have closed the listener (HAProxy's, in 1
        // stop of 6): stopped means the port is free again.
        const closed = await until(
          async () => !(await accepts(port)),
          () => false,
          5000,
        )
        rmSync(dir, { recursive: true, force: true })
        if (!closed) throw new Error(`${kind} (pid ${child.pid}) exited but port ${port} still accepts after 5 s`)
      }
      return { kind, port, pid: child.pid, dir, stop }
    }
    if (child.exitCode == null) child.kill('SIGKILL')
    await exited
    const log = stderr + readIf(join(dir, errorLog))
    rmSync(dir, { recursive: true, force: true })
    if (/in use|cannot bind/i.test(log) && attempt < 5) continue
    throw new Error(`${kind} did not start on port ${port}: ${log.trim() || 'no port within 5 s'}`)
  }
}

const readIf = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '')

/** Does `port` accept a connection? */
export function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
    s.on('error', () => resolve(false))
  })
}

/** Polls `cond` every 20 ms: true once it holds, false once `fail()` holds or after `ms`. */
async function until(cond, fail, ms) {
  const end = Date.now() + ms
  while (Date.now() < end && !fail()) {
    if (await cond()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}

/** `promise` settled within `ms`? */
function within(promise, ms) {
  let t
  return Promise.race([promise.then(() => true), new Promise((r) => (t = setTimeout(() => r(false), ms)))]).finally(
    () => clearTimeout(t),
  )
}

/** A free loopback port (ports.cjs). */
export { freePort }

// A proxy in the foreground outlives a test process that dies without stopping it: ask it to go.
const killOnExit = new Set()
process.on('exit', () => {
  for (const pid of killOnExit) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch (e) {
      // Already gone.
    }
  }
})
