// `serveClient`: the script-tag build at `<path>/lifeline.min.js` and its map, over real HTTP on
// loopback, from the source (as the other server tests run it) and from both built bundles.
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { LifelineServer, type ServerOptions } from '../../src/server/index'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SCRIPT = readFileSync(join(root, 'dist/lifeline.min.js'))
const MAP = readFileSync(join(root, 'dist/lifeline.min.js.map'))

const stops: Array<() => Promise<void>> = []
after(() => Promise.all(stops.map((s) => s())))

type Ctor = new (o: ServerOptions) => { close(): void }

/** A LifelineServer at /rt on a server whose app answers 404 `app` to whatever is left to it. */
async function serve(options: ServerOptions = {}, Server: Ctor = LifelineServer) {
  const server = http.createServer((req, res) => res.writeHead(404).end('app'))
  const ll = new Server({ server, path: '/rt', ...options })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const stop = () =>
    new Promise<void>((r) => {
      ll.close()
      server.closeAllConnections()
      server.close(() => r())
    })
  stops.push(stop)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** One request with raw bytes back (Node's fetch would decode gzip itself). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('serveClient: lifeline.min.js and its map under the path, with their types, an ETag and no-cache', async () => {
  const base = await serve()
  const js = await get(base + '/rt/lifeline.min.js')
  assert.equal(js.status, 200)
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
  assert.equal(js.headers['cache-control'], 'public, no-cache')
  assert.equal(js.headers['x-content-type-options'], 'nosniff')
  assert.equal(js.headers['content-encoding'], undefined)
  assert.equal(+js.headers['content-length']!, SCRIPT.length)
  assert.match(js.headers.etag!, /^"[\w-]{22}"$/)
  assert.ok(js.body.equals(SCRIPT))
  assert.match(js.body.toString().slice(-60), /sourceMappingURL=lifeline\.min\.js\.map/)
  const map = await get(base + '/rt/lifeline.min.js.map')
  assert.equal(map.status, 200)
  assert.equal(map.headers['content-type'], 'application/json; charset=utf-8')
  assert.ok(map.body.equals(MAP))
  assert.notEqual(map.headers.etag, js.headers.etag)
})

test('serveClient: gzip when accepted (its own ETag), 304 for a current copy, HEAD without a body', async () => {
  const base = await serve()
  const plain = await get(base + '/rt/lifeline.min.js')
  const gz = await get(base + '/rt/lifeline.min.js', { 'accept-encoding': 'gzip, deflate, br' })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.equal(gz.headers.vary, 'Accept-Encoding')
  assert.ok(gunzipSync(gz.body).equals(SCRIPT))
  assert.ok(gz.body.length < SCRIPT.length / 2, `gzip ${gz.body.length} of ${SCRIPT.length} bytes`)
  assert.notEqual(gz.headers.etag, plain.headers.etag)
  const fresh = await get(base + '/rt/lifeline.min.js', { 'if-none-match': plain.headers.etag! })
  assert.equal(fresh.status, 304)
  assert.equal(fresh.body.length, 0)
  assert.equal(fresh.headers.etag, plain.headers.etag)
  const listed = await get(base + '/rt/lifeline.min.js', { 'if-none-match': `"old", W/${plain.headers.etag}` })
  assert.equal(listed.status, 304)
  // The plain copy's tag does not validate the gzipped bytes.
  const other = await get(base + '/rt/lifeline.min.js', {
    'if-none-match': plain.headers.etag!,
    'accept-encoding': 'gzip',
  })
  assert.equal(other.status, 200)
  const head = await get(base + '/rt/lifeline.min.js', {}, 'HEAD')
  assert.equal(head.status, 200)
  assert.equal(+head.headers['content-length']!, SCRIPT.length)
  assert.equal(head.body.length, 0)
  assert.equal((await get(base + '/rt/lifeline.min.js', {}, 'POST')).status, 405)
})

// Other paths under the endpoint are the app's too.
test('serveClient: false leaves those URLs to the app (which answers 404 here)', async () => {
  const off = await serve({ serveClient: false })
  for (const f of ['lifeline.min.js', 'lifeline.min.js.map']) {
    const r = await get(off + '/rt/' + f)
    assert.equal(r.status, 404)
    assert.equal(r.body.toString(), 'app')
  }
  const on = await serve()
  for (const p of ['/rt/other.js', '/rt/lifeline.js', '/lifeline.min.js', '/rtx/lifeline.min.js']) {
    const r = await get(on + p)
    assert.equal(r.status, 404, p)
    assert.equal(r.body.toString(), 'app', p)
  }
})

test('serveClient from the built bundles: dist/server.mjs and dist/server.cjs find dist/lifeline.min.js', async () => {
  const esm = (await import(pathToFileURL(join(root, 'dist/server.mjs')).href)).LifelineServer as Ctor
  const cjs = createRequire(import.meta.url)(join(root, 'dist/server.cjs')).LifelineServer as Ctor
  for (const Server of [esm, cjs]) {
    const r = await get((await serve({}, Server)) + '/rt/lifeline.min.js')
    assert.equal(r.status, 200)
    assert.ok(r.body.equals(SCRIPT))
  }
})

// A bundle without the file answers 404 and says so once.
test('serveClient reads the file on the first request for it, and only once', async () => {
  // A copy of the ESM bundle in a folder of its own, as an app's bundler would leave it; inside
  // the checkout (.tmp/ is ignored by git), so that its imports (ws) resolve.
  mkdirSync(join(root, '.tmp'), { recursive: true })
  const dir = mkdtempSync(join(root, '.tmp', 'script-'))
  stops.push(async () => rmSync(dir, { recursive: true, force: true }))
  copyFileSync(join(root, 'dist/server.mjs'), join(dir, 'server.mjs'))
  const Server = (await import(pathToFileURL(join(dir, 'server.mjs')).href)).LifelineServer as Ctor
  const logged: string[] = []
  const logger = { debug() {}, info() {}, warn() {}, error: (...a: unknown[]) => logged.push(a.join(' ')) }
  const base = await serve({ logger }, Server)
  // Missing at first: the map is asked for twice, and told once.
  assert.equal((await get(base + '/rt/lifeline.min.js.map')).status, 404)
  assert.equal((await get(base + '/rt/lifeline.min.js.map')).status, 404)
  assert.equal(logged.length, 1)
  assert.match(logged[0], /lifeline\.min\.js\.map not found .*serveClient: false/)
  // Put there after the server started, before anyone asked for it: read then.
  copyFileSync(join(root, 'dist/lifeline.min.js'), join(dir, 'lifeline.min.js'))
  const first = await get(base + '/rt/lifeline.min.js')
  assert.equal(first.status, 200)
  assert.ok(first.body.equals(SCRIPT))
  // Changed on disk afterwards: the server keeps what it read.
  writeFileSync(join(dir, 'lifeline.min.js'), 'changed')
  const again = await get(base + '/rt/lifeline.min.js')
  assert.ok(again.body.equals(SCRIPT))
  assert.equal(again.headers.etag, first.headers.etag)
})

test('with logger null, a missing build is still told once, as a process warning (LifelineWarning)', async () => {
  mkdirSync(join(root, '.tmp'), { recursive: true })
  const dir = mkdtempSync(join(root, '.tmp', 'script-'))
  stops.push(async () => rmSync(dir, { recursive: true, force: true }))
  copyFileSync(join(root, 'dist/server.mjs'), join(dir, 'server.mjs'))
  const Server = (await import(pathToFileURL(join(dir, 'server.mjs')).href)).LifelineServer as Ctor
  const warnings: Error[] = []
  const onWarning = (w: Error) => w.name == 'LifelineWarning' && warnings.push(w)
  process.on('warning', onWarning)
  try {
    const base = await serve({ logger: null }, Server)
    assert.equal((await get(base + '/rt/lifeline.min.js')).status, 404)
    assert.equal((await get(base + '/rt/lifeline.min.js')).status, 404)
    // Emitted on the tick after it was told, before the 404 went out.
    assert.equal(warnings.length, 1)
    assert.match(warnings[0].message, /lifeline\.min\.js not found/)
  } finally {
    process.off('warning', onWarning)
  }
})
