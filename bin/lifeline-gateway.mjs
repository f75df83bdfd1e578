#!/usr/bin/env node
// Put Lifeline in front of any plain WebSocket server (docs/gateway.md):
//
//   npx lifeline-gateway --upstream ws://127.0.0.1:9000/chat --port 8080 [--path /rt]
//                        [--host 127.0.0.1] [--origins https://a.example,https://b.example]
//
// Serves the Lifeline endpoint at --path and the client script at /lifeline.min.js.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { LifelineServer } from '../dist/server.mjs'

const USAGE = `usage: lifeline-gateway --upstream ws://host:port/path [--port 8080] [--path /lifeline]
                        [--host 127.0.0.1] [--origins https://a,https://b | '*'] [--debug]`

let args
try {
  args = parseArgs({
    options: {
      upstream: { type: 'string' },
      port: { type: 'string', default: '8080' },
      path: { type: 'string', default: '/lifeline' },
      host: { type: 'string', default: '127.0.0.1' },
      origins: { type: 'string' },
      debug: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values
} catch (e) {
  console.error(e.message + '\n' + USAGE)
  process.exit(2)
}
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
const port = Number(args.port)
if (!args.upstream || !(port >= 0 && port < 65536 && port % 1 == 0) || !args.path.startsWith('/')) {
  console.error(USAGE)
  process.exit(2)
}

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const files = {}
try {
  files['/lifeline.min.js'] = readFileSync(join(dist, 'lifeline.min.js'))
  files['/lifeline.min.js.map'] = readFileSync(join(dist, 'lifeline.min.js.map'))
} catch (e) {
  console.error(`lifeline-gateway: ${join(dist, 'lifeline.min.js')} is missing; run \`npm run build\` first`)
  process.exit(1)
}

const server = http.createServer((req, res) => {
  const file = files[req.url.split('?')[0]]
  if (file && (req.method == 'GET' || req.method == 'HEAD')) {
    const type = req.url.includes('.map') ? 'application/json' : 'text/javascript; charset=utf-8'
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': file.length,
      'Cache-Control': 'no-cache',
      'Access-Control-Allow-Origin': '*',
    })
    return res.end(req.method == 'HEAD' ? undefined : file)
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' })
  res.end('not found\n')
})

let ll
try {
  ll = new LifelineServer({
    server,
    path: args.path,
    upstream: args.upstream,
    origins:
      args.origins == '*'
        ? '*'
        : args.origins
          ? args.origins
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined,
    logger: args.debug ? console : { debug() {}, info: console.info, warn: console.warn, error: console.error },
  })
} catch (e) {
  console.error('lifeline-gateway: ' + e.message)
  process.exit(2)
}
ll.on('error', (e) => console.error('lifeline-gateway:', e.message))

server.on('error', (e) => {
  console.error('lifeline-gateway: ' + e.message)
  process.exit(1)
})
server.listen(port, args.host, () => {
  const a = server.address()
  const host = a.family == 'IPv6' ? `[${a.address}]` : a.address
  console.log(
    `lifeline-gateway: http://${host}:${a.port}${args.path} -> ${args.upstream} (client script at /lifeline.min.js)`,
  )
})

function shutdown() {
  // Sessions close with 1001, which closes each upstream with 1001; the process then exits on its
  // own once those closing handshakes are done, or after 5 s whatever is left.
  ll.close(1001, 'gateway shutting down')
  server.close()
  server.closeIdleConnections()
  setTimeout(() => process.exit(0), 5000).unref()
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
