// Processes the tests start themselves (redis-server, haproxy, Lifeline nodes): each is tracked by
// its pid, signalled only by that pid, and asked to stop when the test process exits. Nothing here
// ever looks a process up by name.
import net from 'node:net'
import { freePort } from './ports.cjs'

/** Children started through `track()`, by pid: only these may be signalled. */
const started = new Map()

/** Remember `child` as ours; it is sent SIGKILL if the test process exits with it still running. */
export function track(child) {
  started.set(child.pid, child)
  child.once('exit', () => started.delete(child.pid))
  return child
}

/** Send `signal` to a child this process started and still runs; anything else is an error. */
export function signal(child, sig) {
  if (!started.has(child.pid)) throw new Error(`pid ${child.pid} is not a running process this test started`)
  process.kill(child.pid, sig)
}

/** Freeze a child we started (SIGSTOP): it keeps its sockets but runs nothing until `thaw`. */
export const freeze = (child) => signal(child, 'SIGSTOP')
/** Let a frozen child run again (SIGCONT). */
export const thaw = (child) => signal(child, 'SIGCONT')

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child) {
  if (child.exitCode != null || child.signalCode != null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Stop `child` with `sig`, then SIGKILL if it is still there after `ms`; resolves when it is gone. */
export async function stopChild(child, sig = 'SIGTERM', ms = 5000) {
  if (child.exitCode != null || child.signalCode != null) return
  // A frozen process does not act on SIGTERM until it runs again.
  signal(child, 'SIGCONT')
  signal(child, sig)
  if (!(await within(exited(child), ms))) {
    if (child.exitCode == null && child.signalCode == null) signal(child, 'SIGKILL')
    await exited(child)
  }
}

/** `promise` settled within `ms`? */
export function within(promise, ms) {
  let timer
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer))
}

/** Polls `cond` (may be async) every 20 ms: true once it holds, false once `fail()` holds or after `ms`. */
export async function until(cond, ms, fail = () => false) {
  const end = Date.now() + ms
  while (Date.now() < end && !fail()) {
    if (await cond()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

/** A free loopback port (several checkouts may test at once): ports.cjs. */
export { freePort }

/** Does 127.0.0.1:`port` accept a TCP connection? */
export function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

process.on('exit', () => {
  for (const pid of started.keys()) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch (e) {
      // Already gone.
    }
  }
})
