// N Lifeline server processes for the multi-node tests, each its own child process on its own
// loopback port (test/support/cluster-node.mjs over src/server, under tsx): restart one,
// kill -9 one, freeze one (SIGSTOP) and thaw it. Signals go to these children's pids only.
//
//   const nodes = await startNodes(3)
//   nodes.list[1].port ... await nodes.kill(1) ... await nodes.start(1) ... await nodes.stopAll()
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exited, freePort, freeze, signal, stopChild, thaw, track, within } from './processes.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const MAIN = join(here, 'cluster-node.mjs')
const START_MS = 10000

/**
 * Start `count` nodes named n1..nN; `env` is added to each one's environment (e.g. the Redis URL),
 * or `env(i)` to node `i`'s (a Redis URL of its own: a relay to cut);
 * `main` is the script each runs (cluster-node.mjs; it must print `ready <port> <pid>` when serving).
 * @returns {Promise<{ list: Array<{ name: string, port: number, child?: import('node:child_process').ChildProcess,
 *   pid?: number, log: string }>, start(i: number): Promise<void>, restart(i: number): Promise<void>,
 *   kill(i: number): Promise<void>, freeze(i: number): void, thaw(i: number): void, stopAll(): Promise<void> }>}
 */
export async function startNodes(count, env = {}, main = MAIN) {
  const list = []
  for (let i = 0; i < count; i++) list.push({ name: 'n' + (i + 1), port: await freePort(), log: '' })
  const nodes = {
    list,
    /** Start node `i` (again) on its own port. */
    start: (i) => launch(list[i], typeof env == 'function' ? env(i) : env, main),
    /** SIGTERM (the server closes its sessions with 1001), then start it again on the same port. */
    async restart(i) {
      await nodes.stop(i)
      await nodes.start(i)
    },
    /** SIGTERM and wait for the exit. */
    async stop(i) {
      const child = list[i].child
      if (child) await stopChild(child, 'SIGTERM')
    },
    /** kill -9: sockets reset, nothing flushed or closed. */
    async kill(i) {
      const child = list[i].child
      if (!child) return
      signal(child, 'SIGKILL')
      await exited(child)
    },
    /** SIGSTOP: its sockets stay open and nothing answers. */
    freeze: (i) => freeze(list[i].child),
    /** SIGCONT after `freeze`. */
    thaw: (i) => thaw(list[i].child),
    async stopAll() {
      await Promise.all(list.map((_, i) => nodes.stop(i)))
    },
  }
  try {
    await Promise.all(list.map((_, i) => nodes.start(i)))
  } catch (e) {
    await nodes.stopAll()
    throw e
  }
  return nodes
}

async function launch(node, env, main) {
  if (node.child) throw new Error(`${node.name} is already running (pid ${node.child.pid})`)
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...env, LIFELINE_NODE_NAME: node.name, LIFELINE_NODE_PORT: String(node.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  node.child = child
  child.once('exit', () => {
    if (node.child == child) node.child = undefined
  })
  Object.defineProperty(node, 'pid', { get: () => node.child && node.child.pid, configurable: true })
  const ready = new Promise((resolve) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (/^ready \d+/m.test(out)) resolve(true)
    })
    child.stderr.on('data', (d) => (node.log += d))
    child.once('exit', () => resolve(false))
  })
  // `ready` settles true on the line, false on an early exit; `within` is false when neither came in time.
  if ((await within(ready, START_MS)) && (await ready)) return
  if (child.exitCode == null && child.signalCode == null) await stopChild(child, 'SIGKILL')
  throw new Error(`${node.name} did not start on port ${node.port}: ${node.log.trim().slice(-2000)}`)
}
