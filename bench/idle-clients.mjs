// Holds N idle clients of one case open from Node, for the server memory figure (a browser allows
// only 6 HTTP connections per host). Each library's own client code runs here: Lifeline's with
// `ws` and Node's fetch, engine.io-client's and sockjs-client's Node builds, `ws` for raw.
//
//   node bench/idle-clients.mjs <case> '<ports json>' <count>
//
// Tells its parent `{ ready: n, how }` once n clients are open, then idles until stopped.
import { WebSocket } from 'ws'
import { Socket as EioSocket } from 'engine.io-client'
import SockJS from 'sockjs-client'
import { Lifeline } from '../dist/lifeline.mjs'

const [name, portsJson, countArg] = process.argv.slice(2)
const ports = JSON.parse(portsJson)
const count = Number(countArg)
const host = '127.0.0.1'
const [lib, ...rest] = name.split('-')
const transport = rest.join('-')

/** Open one client; resolves when it is open, rejects on failure. Returns what keeps it alive. */
const openers = {
  raw: () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${host}:${ports.ws}/`)
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
    }),
  lifeline: () =>
    new Promise((resolve, reject) => {
      const ll = new Lifeline(`http://${host}:${ports.lifeline}/rt`, {
        transports: [transport],
        storage: null,
        WebSocket,
        fetch,
      })
      ll.on('open', () => resolve(ll))
      ll.on('close', (e) => reject(new Error('closed ' + e.code + ' ' + e.reason)))
    }),
  eio: () =>
    new Promise((resolve, reject) => {
      const s = new EioSocket(`http://${host}:${ports['engine.io']}`, { transports: [transport], upgrade: false })
      s.on('open', () => resolve(s))
      s.on('error', reject)
    }),
  sockjs: () =>
    new Promise((resolve, reject) => {
      const s = new SockJS(`http://${host}:${ports.sockjs}/sockjs`, null, { transports: [transport] })
      s.onopen = () => resolve(s)
      s.onclose = (e) => reject(new Error('closed ' + e.code + ' ' + e.reason))
    }),
}

const HOW = {
  raw: 'ws (Node) clients',
  lifeline: "Lifeline's own client in Node (ws + Node fetch)",
  eio: "engine.io-client's Node build",
  sockjs: "sockjs-client's Node build",
}

async function main() {
  const open = openers[lib]
  const held = []
  // 50 at a time: a thousand handshakes at once would only measure the accept queue.
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () => open())
    held.push(...(await Promise.all(batch)))
  }
  globalThis.held = held
  process.send({ ready: held.length, how: HOW[lib] })
}

process.on('disconnect', () => process.exit(0))
main().catch((e) => {
  process.send({ failed: `${name}: ${e && e.message}` })
})
