// `npm start` builds, then runs this: every example on http://localhost:8080. PORT=… picks another
// port (0: any free one, printed), HOST=0.0.0.0 makes it reachable from other machines.
//
// Pages are static files. Each example's server half is a module (ticker/server.mjs,
// chat/server.mjs) whose LifelineServer is made without `server` and routed to from here with
// `handleRequest` and `handleUpgrade`, the way to mount several endpoints or put something
// in front of them (here the chat's debug drop, drop.mjs).
import http from 'node:http'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LifelineServer } from '../dist/server.mjs'
import { chat, PATH as CHAT } from './chat/server.mjs'
import { ticker, PATH as TICKER } from './ticker/server.mjs'
import { dropper } from './drop.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '..', 'dist')
// The chat's import map points 'eventemitter3' (the one dependency of dist/lifeline.mjs) here.
const emitter = join(dirname(createRequire(import.meta.url).resolve('eventemitter3')), 'dist', 'eventemitter3.esm.js')
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.png': 'image/png',
}

/** Start the examples' server (`chat`: more options of the chat's server); resolves to `{ port, server, close() }`. */
export async function start({ port = 8080, host = '127.0.0.1', chat: chatOptions = {} } = {}) {
  const echo = new LifelineServer({ path: '/rt' })
  echo.on('connection', (s) => s.on('message', (m) => s.send(m)))
  const rates = ticker()
  const room = chat(chatOptions)
  const endpoints = { '/rt': echo, [TICKER]: rates.ll, [CHAT]: room.ll }
  const drop = dropper()

  const server = http.createServer((req, res) => {
    if (drop.refuses(req)) return
    for (const ll of Object.values(endpoints)) if (ll.handleRequest(req, res)) return
    if (!drop.handle(req, res)) serveFile(req, res)
  })
  server.on('upgrade', (req, socket, head) => {
    const ll = endpoints[new URL(req.url, 'http://x').pathname]
    if (!ll) return socket.destroy()
    if (!drop.refuses(req, socket)) ll.handleUpgrade(req, socket, head)
  })
  await new Promise((resolve) => server.listen(port, host, resolve))
  const close = () => {
    echo.close()
    rates.stop()
    room.stop()
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  }
  return { port: server.address().port, server, close }
}

/** Static files from examples/, dist/ under /dist/, and the emitter's ESM build. */
async function serveFile(req, res) {
  let path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  if (path == '/favicon.ico') return res.writeHead(204).end()
  if (path.endsWith('/')) path += 'index.html'
  const file =
    path == '/vendor/eventemitter3.js'
      ? emitter
      : path.startsWith('/dist/')
        ? join(dist, normalize(path.slice(5)))
        : join(here, normalize(path))
  if (file != emitter && !file.startsWith(here + sep) && !file.startsWith(dist + sep)) return res.writeHead(403).end()
  let body
  try {
    body = await readFile(file)
  } catch (e) {
    // A folder asked for without its slash: send the browser to the slash, so relative links work.
    if (e.code == 'EISDIR') return res.writeHead(301, { Location: path + '/' }).end()
    return res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
  }
  const headers = { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' }
  if (extname(file) == '.html') headers['Content-Security-Policy'] = csp(body.toString())
  res.writeHead(200, headers).end(body)
}

/**
 * A strict policy for every page: scripts, styles and connections from this origin only, no
 * inline script or eval. The one inline script allowed is an import map, by its hash.
 */
function csp(html) {
  const maps = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)]
  const hashes = maps.map((m) => ` 'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`).join('')
  return `default-src 'self'; script-src 'self'${hashes}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  const { port } = await start({ port: Number(process.env.PORT || 8080), host: process.env.HOST })
  console.log(`Lifeline examples on http://localhost:${port}/`)
}
