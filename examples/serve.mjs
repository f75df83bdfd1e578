// `npm start`: serves the examples on http://localhost:8080 with a Lifeline endpoint at /rt.
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LifelineServer } from '../dist/server.mjs'

const root = dirname(fileURLToPath(import.meta.url))
const dist = join(root, '..', 'dist')
const port = Number(process.env.PORT || 8080)
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.png': 'image/png' }

const server = http.createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  const file = path.startsWith('/dist/') ? join(dist, normalize(path.slice(6))) : join(root, normalize(path.endsWith('/') ? path + 'index.html' : path))
  if (!file.startsWith(root) && !file.startsWith(dist)) return res.writeHead(403).end()
  try {
    const body = await readFile(file)
    res.writeHead(200, { 'Content-Type': types[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' })
    res.end(body)
  } catch {
    res.writeHead(404).end('not found')
  }
})

const ll = new LifelineServer({ server, path: '/rt' })
ll.on('connection', (session) => {
  session.on('message', (data) => session.send(data))
})

server.listen(port, () => console.log(`Lifeline examples on http://localhost:${port}/`))
