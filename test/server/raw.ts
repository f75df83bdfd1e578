// A raw protocol peer for server tests: speaks Lifeline's frames over real sockets on loopback,
// with no client logic in between, so tests can send exactly what they mean (including garbage).
import http from 'node:http'
import net from 'node:net'
import WebSocket from 'ws'
import { LifelineServer, type Logger, type ServerOptions, type ServerSession } from '../../src/server/index'
import type { LocalSession } from '../../src/server/local-session'
import { encode, Parser } from '../../src/protocol/envelope'
import type { Frame } from '../../src/protocol/frames'

export interface Running {
  port: number
  ll: LifelineServer
  server: http.Server
  sessions: ServerSession[]
  received: Map<ServerSession, Array<string | Buffer>>
  /** What the server logged (unless the test gave its own `logger`), one line each: `warn <args>`. */
  logged: string[]
  stop(): Promise<void>
}

/** A logger that keeps its lines in `into` (as `level args…`), so tests print nothing and can read them. */
export function recorder(into: string[]): Logger {
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      void into.push([level, ...args.map(String)].join(' '))
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const running = new Set<Running>()

/**
 * The store every `start()` uses unless its options say otherwise: memory (one process), or in
 * cluster mode a one-node cluster on the Redis at this URL, or on the Redis Cluster of these
 * `{ rootNodes }` (test/server/stores.ts sets it).
 */
let storeUrl: string | { rootNodes: object[] } | null = null
export const useStore = (url: typeof storeUrl) => void (storeUrl = url)
/** Whether servers are started as cluster nodes (on Redis) now. */
export const onRedis = () => storeUrl != null
/** Keys of each server's own: several share one Redis. */
let prefixes = 0

/**
 * The `cluster` option of a new one-node cluster on the current store, with `extra` (say a small
 * `fanoutChunk`); undefined in one process. Two servers started with the same one are two nodes.
 */
export function storeCluster(extra: object = {}) {
  if (!storeUrl) return undefined
  return { redis: storeUrl, prefix: 'p' + process.pid + '.' + ++prefixes + ':', nodeLease: 1000, ...extra }
}

/** Stop every server still running (for `after()`: a failed test must not leave the run hanging). */
export const stopAll = () => Promise.all([...running].map((r) => r.stop()))

/**
 * A Lifeline echo server on a free loopback port; `httpOpts` are options for its HTTP server. What
 * it logs is kept in `logged` (not printed) unless `opts` name a `logger`.
 */
export function start(opts: ServerOptions = {}, echo = true, httpOpts: http.ServerOptions = {}): Promise<Running> {
  const server = http.createServer(httpOpts)
  if (storeUrl && opts.cluster === undefined) opts = { ...opts, cluster: storeCluster() }
  const logged: string[] = []
  const ll = new LifelineServer({ server, path: '/rt', origins: '*', logger: recorder(logged), ...opts })
  const r: Running = {
    port: 0,
    ll,
    server,
    sessions: [],
    received: new Map(),
    logged,
    // Stopped when the server is and, in cluster mode, the node has let go and closed its Redis
    // connections: a test's Redis removed before that failed commands the test no longer awaited.
    stop: async () => {
      running.delete(r)
      const closing = ll.close()
      server.closeAllConnections()
      await new Promise<void>((res) => server.close(() => res()))
      await closing
    },
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
  running.add(r)
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () => ((r.port = (server.address() as { port: number }).port), res(r))),
  )
}

/** A raw WebSocket to the endpoint; `frames` collects everything the server sends. */
export function ws(port: number, query = 'v=2&t=websocket&ack=0&o=1', headers: Record<string, string> = {}) {
  const sock = new WebSocket(`ws://127.0.0.1:${port}/rt?${query}`, { headers })
  const frames: Frame[] = []
  const waiters: Array<() => void> = []
  sock.on('message', (d, bin) => {
    frames.push(bin ? new Uint8Array(d as Buffer) : d.toString())
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<{ code: number; reason: string }>((res) =>
    sock.on('close', (code, reason) => res({ code, reason: reason.toString() })),
  )
  const opened = new Promise<void>((res, rej) => {
    sock.on('open', () => res())
    sock.on('error', rej)
  })
  /** Wait until a frame matching `pred` has arrived. */
  const until = (pred: (f: Frame) => boolean, ms = 5000) =>
    new Promise<Frame>((res, rej) => {
      const t = setTimeout(
        () => rej(new Error('no matching frame in ' + ms + ' ms; got ' + JSON.stringify(frames.slice(-5)))),
        ms,
      )
      const check = () => {
        const f = frames.find(pred)
        if (f !== undefined) {
          clearTimeout(t)
          res(f)
        } else waiters.push(check)
      }
      check()
    })
  return {
    sock,
    frames,
    closed,
    opened,
    until,
    hello: () => until((f) => typeof f == 'string' && f[0] == 'o').then((f) => JSON.parse((f as string).slice(1))),
  }
}

/** One HTTP request; the body is frames (enveloped) or raw bytes; the answer's frames are parsed. */
export function req(
  port: number,
  method: string,
  query: string,
  body?: Frame[] | Buffer,
  headers: Record<string, string> = {},
  onChunk?: (f: Frame[]) => void,
) {
  return new Promise<{
    status: number
    headers: http.IncomingHttpHeaders
    frames: Frame[]
    text: string
    res: http.IncomingMessage
  }>((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(encode(body))
    const r = http.request(
      { host: '127.0.0.1', port, method, path: '/rt?' + query, headers: { 'Content-Type': 'text/plain', ...headers } },
      (res) => {
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
      },
    )
    r.on('error', reject)
    r.end(data)
  })
}

export const hello = (frames: Frame[]) =>
  JSON.parse((frames.find((f) => typeof f == 'string' && f[0] == 'o') as string).slice(1))

export async function until(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(what + ' not met in ' + ms + ' ms')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A bare TCP connection: write exactly the bytes a test wants, see what comes back and when it closes. */
export function tcp(port: number) {
  const sock = net.connect(port, '127.0.0.1')
  let data = Buffer.alloc(0)
  sock.on('data', (d) => (data = Buffer.concat([data, d])))
  sock.on('error', () => {})
  const closed = new Promise<number>((res) => sock.on('close', () => res(Date.now())))
  const opened = new Promise<void>((res) => sock.on('connect', () => res()))
  return { sock, closed, opened, text: () => data.toString('latin1') }
}

/** A confirmed polling session (hello, then the client's first POST); resolves to its id. */
export async function pollSession(port: number, t = 'polling'): Promise<string> {
  // A stream's response stays open: its hello is read as it arrives.
  const sid = await new Promise<string>((res, rej) => {
    req(
      port,
      'GET',
      `v=2&t=${t}&ack=0&o=1`,
      undefined,
      {},
      (fs) => fs.some((f) => f[0] == 'o') && res(hello(fs).sid),
    ).catch(rej)
  })
  await req(port, 'POST', `v=2&t=${t}&sid=${sid}&ack=0`, ['s1', 'u1', 'p'])
  return sid
}

/** A confirmed WebSocket session: hello, `u1`, `s1`. */
export async function wsSession(port: number) {
  const c = ws(port)
  const h = await c.hello()
  c.sock.send('u1')
  c.sock.send('s1')
  return Object.assign(c, { sid: h.sid as string })
}

/**
 * A session's link of kind `kind` on server `r`, on either store: the session's own in one
 * process, what the node holds of the session in cluster mode. For tests that cut a link.
 */
export function linkOf(r: Running, sid: string, kind: 'websocket' | 'stream' | 'polling') {
  const holder = holderOf(r, sid)
  return holder && holder._links[kind]
}

/** What holds the session's links on server `r`: the session in one process, what the node serves in cluster mode. */
function holderOf(r: Running, sid: string) {
  type Holder = Pick<LocalSession, '_links' | '_active'>
  const node = (r.ll as unknown as { _node: { served?: Map<string, Holder> } })._node
  return node.served ? node.served.get(sid) : (r.ll.sessions.get(sid)?._store as LocalSession | undefined)
}

/**
 * Whether server `r` holds a link of `kind` for session `sid` that carries the session now (the
 * active one), on either store: a poll waiting, a stream open. Nothing on the wire says so (a
 * held poll has not answered yet), and `transport` says `polling` between polls too.
 */
export function carries(r: Running, sid: string, kind: 'websocket' | 'stream' | 'polling'): boolean {
  const holder = holderOf(r, sid)
  return !!holder && holder._active == kind && !!holder._links[kind]
}

/** The first close frame in `frames`, if any. */
export const closeOf = (frames: Frame[]) =>
  frames.find((f) => typeof f == 'string' && f[0] == 'c') as string | undefined

/**
 * Make the app's `connection` handler throw, and its `message` handler throw once; a client's two
 * messages still both come back (the session carries on). Resolves to the session's id.
 */
export async function throwingHandlers(r: Running): Promise<string> {
  r.ll.on('connection', (s) => {
    s.once('message', () => {
      throw new Error('app bug in message')
    })
    throw new Error('app bug in connection')
  })
  const c = ws(r.port)
  const { sid } = await c.hello()
  for (const f of ['u1', 's1', 'mone', 'mtwo']) c.sock.send(f)
  // Alone, or last in a batch (`M[...]`).
  await c.until((f) => typeof f == 'string' && /^mtwo$|^M.*"two"\]$/.test(f), 5000)
  return sid
}
