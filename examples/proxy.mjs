// `npm run demo:proxy -- <kind>`: the examples behind a real proxy that gets in the way, to watch
// Lifeline fall back. Starts the examples' server and the proxy (test/support/proxies.mjs) on
// loopback, prints the URL to open, and stops both on Ctrl-C.
import { KINDS, startProxy } from '../test/support/proxies.mjs'
import { start } from './serve.mjs'

const EXPECT = {
  nginx: 'a correct reverse proxy: WebSocket',
  'nginx-no-upgrade':
    'Upgrade/Connection headers not forwarded, so the handshake is refused: stream (reason websocket-refused)',
  'nginx-buffering':
    'responses buffered, HTTP/1.0 upstream: no WebSocket, streams held back, so long-polling (reason stream-buffered)',
  'nginx-timeout':
    'idle connections cut after 10 s: WebSocket, reconnecting without loss, ' +
    'then asking for heartbeats often enough to stay up',
  'fault-blackhole': 'the WebSocket opens but carries nothing: stream (reason websocket-silent)',
  'fault-delay': 'every byte 100 ms late: still WebSocket, just slower',
  'fault-cut': 'every connection cut 3 s after it opens: watch the reconnects; nothing is lost',
}

const kind = process.argv[2] || 'nginx-buffering'
if (!KINDS.includes(kind)) {
  console.error(
    `usage: npm run demo:proxy -- <kind>\n\n${KINDS.map((k) => `  ${k.padEnd(18)} ${EXPECT[k] || ''}`).join('\n')}`,
  )
  process.exit(2)
}
const app = await start({ port: 0 })
let proxy
try {
  proxy = await startProxy(kind, app.port)
} catch (e) {
  console.error(e.message)
  await app.close()
  process.exit(1)
}
const url = `http://127.0.0.1:${proxy.port}/`
console.log(`${kind} on ${url} -> examples on http://127.0.0.1:${app.port}/\n`)
console.log(`Open ${url}ticker/ and watch the status panel. Expect: ${EXPECT[kind]}.`)
console.log(`(Straight to the server, for comparison: http://127.0.0.1:${app.port}/ticker/)  Ctrl-C stops both.`)

const stop = async () => {
  await proxy.stop()
  await app.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
