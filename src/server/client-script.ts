// The script-tag build served by the server at `<path>/lifeline.min.js` (and its source map), as
// socket.io serves its client: a page can load the client that matches its server without a CDN
// or a copy of its own.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

/** The files served, by name under the endpoint's path, with their content types. @internal */
export const CLIENT_FILES: Readonly<Record<string, string>> = Object.freeze({
  'lifeline.min.js': 'text/javascript; charset=utf-8',
  'lifeline.min.js.map': 'application/json; charset=utf-8',
})

interface Loaded {
  body: Buffer
  gzip: Buffer
  /** Strong validators, one per encoding (RFC 9110 §8.8.3: they differ when the bytes do). */
  etag: string
  gzipTag: string
}

/** One read per file per process, started by the first request for it; null when missing. */
const loaded = new Map<string, Promise<Loaded | null>>()

/**
 * Where the build is: beside the server bundle (`dist/server.mjs` and `dist/server.cjs` both
 * live in `dist/` with `lifeline.min.js`; rollup turns `import.meta.url` into `__filename`'s URL
 * in the CommonJS one). Run from source (`src/server/`, as the tests do), the checkout's `dist/`.
 */
function candidates(name: string): string[] {
  const here = import.meta.url
  const list = [new URL('./' + name, here)]
  if (/\/src\/server\/client-script\.ts$/.test(here)) list.push(new URL('../../dist/' + name, here))
  return list.map((u) => fileURLToPath(u))
}

async function load(name: string, log: (message: string) => void): Promise<Loaded | null> {
  const tried = candidates(name)
  for (const file of tried) {
    let body: Buffer
    try {
      body = await readFile(file)
    } catch (e) {
      continue
    }
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22)
    return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${hash}"`, gzipTag: `"${hash}-gz"` }
  }
  // A server bundled into an app's own file has no dist/ beside it.
  log(`${name} not found (looked for ${tried.join(', ')}): serve it yourself, or set serveClient: false`)
  return null
}

/** Whether an `If-None-Match` header names `etag` (weak comparison, RFC 9110 §13.1.2). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag == '*' || tag.replace(/^W\//, '') == etag
  })
}

/**
 * Answer a request for one of {@link CLIENT_FILES}: GET or HEAD, gzip when accepted, `304` when
 * the browser's copy is current. The URL carries no version and an upgrade changes the file, so
 * the browser may keep a copy but asks each time (`no-cache` with an `ETag`), never `immutable`.
 * @internal
 */
export function serveClientFile(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  log: (message: string) => void,
): void {
  if (req.method != 'GET' && req.method != 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed')
    return
  }
  let got = loaded.get(name)
  if (!got) loaded.set(name, (got = load(name, log)))
  got.then((file) => {
    if (res.writableEnded || req.destroyed) return
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('not found')
      return
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] || ''))
    const etag = gzip ? file.gzipTag : file.etag
    const head: OutgoingHttpHeaders = {
      'Content-Type': CLIENT_FILES[name],
      'Cache-Control': 'public, no-cache',
      ETag: etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    }
    if (matches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, head).end()
      return
    }
    const body = gzip ? file.gzip : file.body
    if (gzip) head['Content-Encoding'] = 'gzip'
    head['Content-Length'] = body.length
    res.writeHead(200, head)
    res.end(req.method == 'HEAD' ? undefined : body)
  })
}
