// A TCP relay on its own loopback port to 127.0.0.1:`target`, to cut one process's link to another
// (a node's to Redis) without touching either: `cut()` resets every relayed connection and stops
// listening, so new ones are refused; `mend()` listens on the same port again.
//
//   const relay = await startRelay(redis.port)   // the node connects to relay.port
//   await relay.cut() ... await relay.mend() ... await relay.close()
import net from 'node:net'
import { freePort } from './processes.mjs'

/** @param {number} target the port relayed to */
export async function startRelay(target) {
  const port = await freePort()
  const pairs = new Set()
  let server
  const listen = () =>
    new Promise((resolve, reject) => {
      server = net.createServer((inbound) => {
        const outbound = net.connect({ host: '127.0.0.1', port: target })
        const pair = [inbound, outbound]
        pairs.add(pair)
        const end = () => {
          pairs.delete(pair)
          inbound.destroy()
          outbound.destroy()
        }
        for (const s of pair) s.on('error', end).on('close', end)
        inbound.pipe(outbound)
        outbound.pipe(inbound)
      })
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
  const stop = () =>
    new Promise((resolve) => {
      if (!server) return resolve()
      const s = server
      server = undefined
      // resetAndDestroy: the far ends see ECONNRESET at once, as when a cable or a firewall cuts in.
      for (const [a, b] of pairs) for (const x of [a, b]) x.resetAndDestroy()
      pairs.clear()
      s.close(() => resolve())
    })
  await listen()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** Connections relayed now. */
    get open() {
      return pairs.size
    },
    /** Whether it is cut (not listening). */
    get isCut() {
      return !server
    },
    /** Reset every relayed connection and refuse new ones until `mend()`. */
    cut: stop,
    /** Listen on the same port again. */
    mend: () => (server ? Promise.resolve() : listen()),
    close: stop,
  }
}
