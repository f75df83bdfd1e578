// A raw protocol peer for server tests: speaks Lifeline's frames over real sockets on loopback,
// with no client logic in between, so tests can send exactly what they mean (including garbage).
import http from 'node:http'
import WebSocket from 'ws'
import { LifelineServer, type ServerOptions, type ServerSession } from '../../src/server/index'
import { encode, Parser } from '../../src/protocol/envelope'
import type { Frame } from '../../src/protocol/frames'

export interface Running {
  port: number
  ll: LifelineServer
  server: http.Server
  sessions: ServerSession[]
  received: Map<ServerSession, Array<string | Buffer>>
  stop(): Promise<void>
}

/** A Lifeline echo server on a free loopback port. */
export function start(opts: ServerOptions = {}, echo = true): Promise<Running> {
  const server = http.createServer()
  const ll = new LifelineServer({ server, path: '/rt', origins: '*', ...opts })
  const r: Running = {
    port: 0,
    ll,
    server,
    sessions: [],
    received: new Map(),
    stop: () =>
      new Promise((res) => {
        ll.close()
        server.closeAllConnections()
        server.close(() => res())
      }),
  }
  ll.on('connection', (s) => {
    r.sessions.push(s)
    r.received.set(s, [])
    s.on('error', () => {})
    s.on('message', (m) => {
      r.received.get(s)!.push(m)
      if (echo) s.send(m)
    })
  })
  return new Promise((res) => server.listen(0, '127.0.0.1', () => ((r.port = (server.address() as { port: number }).port), res(r))))
}

/** A raw WebSocket to the endpoint; `frames` collects everything the server sends. */
export function ws(port: number, query = 'v=1&t=websocket&ack=0&o=1', headers: Record<string, string> = {}) {
  const sock = new WebSocket(`ws://127.0.0.1:${port}/rt?${query}`, { headers })
  const frames: Frame[] = []
  const waiters: Array<() => void> = []
  sock.on('message', (d, bin) => {
    frames.push(bin ? new Uint8Array(d as Buffer) : d.toString())
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<{ code: number; reason: string }>((res) => sock.on('close', (code, reason) => res({ code, reason: reason.toString() })))
  const opened = new Promise<void>((res, rej) => {
    sock.on('open', () => res())
    sock.on('error', rej)
  })
  /** Wait until a frame matching `pred` has arrived. */
  const until = (pred: (f: Frame) => boolean, ms = 5000) =>
    new Promise<Frame>((res, rej) => {
      const t = setTimeout(() => rej(new Error('no matching frame in ' + ms + ' ms; got ' + JSON.stringify(frames.slice(-5)))), ms)
      const check = () => {
        const f = frames.find(pred)
        if (f !== undefined) {
          clearTimeout(t)
          res(f)
        } else waiters.push(check)
      }
      check()
    })
  return { sock, frames, closed, opened, until, hello: () => until((f) => typeof f == 'string' && f[0] == 'o').then((f) => JSON.parse((f as string).slice(1))) }
}

/** One HTTP request; the body is frames (enveloped) or raw bytes; the answer's frames are parsed. */
export function req(port: number, method: string, query: string, body?: Frame[] | Buffer, headers: Record<string, string> = {}, onChunk?: (f: Frame[]) => void) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; frames: Frame[]; text: string; res: http.IncomingMessage }>((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(encode(body))
    const r = http.request({ host: '127.0.0.1', port, method, path: '/rt?' + query, headers: { 'Content-Type': 'text/plain', ...headers } }, (res) => {
      const frames: Frame[] = []
      let text = ''
      const octet = /octet/.test(res.headers['content-type'] || '')
      const parser = new Parser((f) => frames.push(f), 1 << 26)
      res.on('data', (c: Buffer) => {
        if (!octet) return void (text += c)
        const before = frames.length
        parser.push(c)
        if (onChunk && frames.length > before) onChunk(frames.slice(before))
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, frames, text, res }))
      res.on('error', reject)
    })
    r.on('error', reject)
    r.end(data)
  })
}

export const hello = (frames: Frame[]) => JSON.parse((frames.find((f) => typeof f == 'string' && f[0] == 'o') as string).slice(1))

export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(what + ' not met in ' + ms + ' ms')
    await new Promise((r) => setTimeout(r, 10))
  }
}
