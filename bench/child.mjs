// Child processes the bench starts, each stopped by its own pid: the echo servers
// (servers.mjs) and the Node processes that hold idle clients (idle-clients.mjs).
import { fork } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** Resolve with the first IPC message that satisfies `test`, or reject after `ms`. */
export function nextMessage(child, test, ms, what) {
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer)
      child.off('message', onMsg)
      child.off('exit', onExit)
      fn(v)
    }
    const onMsg = (m) => test(m) && done(resolve, m)
    const onExit = (code) => done(reject, new Error(`${what}: process exited (${code}) before answering`))
    const timer = setTimeout(() => done(reject, new Error(`${what}: no answer within ${ms} ms`)), ms)
    child.on('message', onMsg)
    child.on('exit', onExit)
  })
}

/** Stop a child we started, by pid; resolves once it has exited (SIGKILL after 3 s). */
export function stop(child) {
  if (child.exitCode != null || child.signalCode != null) return Promise.resolve()
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(hard)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/**
 * Start the echo servers (all, or the `only` ones) in their own process.
 * @returns {{ ports, ask(cmd): Promise<object>, stop(): Promise<void>, pid }}
 */
export async function startServers(only) {
  const child = fork(join(here, 'servers.mjs'), only ? [only.join(',')] : [], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const { ports } = await nextMessage(child, (m) => m.ports, 15000, 'echo servers')
  let n = 0
  return {
    ports,
    pid: child.pid,
    ask(cmd) {
      const id = ++n
      const p = nextMessage(child, (m) => m.id == id, 15000, 'echo servers ' + cmd)
      child.send({ cmd, id })
      return p
    },
    stop: () => stop(child),
  }
}

/** Start `count` idle clients of one case in a Node process; resolves once they are all open. */
export async function startIdleClients(caseName, ports, count) {
  const child = fork(join(here, 'idle-clients.mjs'), [caseName, JSON.stringify(ports), String(count)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const m = await nextMessage(child, (x) => x.ready != null || x.failed, 60000, 'idle clients ' + caseName)
  if (m.failed) {
    await stop(child)
    throw new Error(m.failed)
  }
  return { opened: m.ready, how: m.how, stop: () => stop(child) }
}
