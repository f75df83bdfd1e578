import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { encode, Parser } from '../protocol/envelope'
import { checkUpstream, relay } from './gateway'
import { closeFrame, T, VERSION, type Frame, type Hello } from '../protocol/frames'
import { SERVER_DEFAULTS, type ServerOptions, type ServerResolved } from './options'
import { ServerSession, type SessionHost } from './session'
import { PollLink } from './transports/polling'
import { StreamLink } from './transports/stream'
import { WebSocketLink } from './transports/websocket'

/** What a request asks for, from its query (PROTOCOL.md "Requests"). @internal */
interface Ask {
  t: string
  sid?: string
  ack: number
  hb: number
  opening: boolean
  token: string | null
  resume: boolean
  origin: string
  address: string
}

/** Server-wide events. */
export interface ServerEvents {
  /** A client's session is up (its first frame arrived). */
  connection: [session: ServerSession]
  /** Something went wrong outside any one session. */
  error: [error: Error]
}

const SID = /^[A-Za-z0-9_-]{22}$/

/**
 * The reference server: every Lifeline transport at one path of an existing HTTP(S) server.
 *
 * @example
 * const server = http.createServer(app)
 * const ll = new LifelineServer({ server, path: '/rt' })
 * ll.on('connection', (s) => s.on('message', (m) => s.send(m)))
 * server.listen(8080)
 */
export class LifelineServer extends EventEmitter<ServerEvents> {
  /** Every live session by id. */
  readonly sessions = new Map<string, ServerSession>()
  /** @internal */ readonly o: ServerResolved
  private _wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  private _total = 0
  private _perAddress = new Map<string, number>()
  /** Ended sessions' close frames, so a late request learns the code instead of a guess. */
  private _tomb = new Map<string, [Frame[], number]>()
  private _sweepT: NodeJS.Timeout
  private _host: SessionHost
  private _onRequest?: (req: IncomingMessage, res: ServerResponse) => void
  private _closed = false

  constructor(options: ServerOptions = {}) {
    super()
    const o = (this.o = Object.assign({}, SERVER_DEFAULTS, options) as ServerResolved)
    if (o.upstream) checkUpstream(o.upstream)
    o.maxPostBytes = options.maxPostBytes || o.maxMessageSize + 2097152
    this._wss.options.maxPayload = o.maxMessageSize + 65536
    const log = o.logger === undefined ? null : o.logger
    this._host = {
      o,
      reserve: (n) => {
        if (n > 0 && this._total + n > o.maxTotalBuffered) return false
        this._total += n
        return true
      },
      confirm: (s) => {
        if (o.upstream) relay(s, o.upstream, this._host)
        this.emit('connection', s)
      },
      gone: (s, code, reason, last) => {
        if (this.sessions.get(s.id) != s) return
        this.sessions.delete(s.id)
        const n = (this._perAddress.get(s.remoteAddress) || 1) - 1
        if (n) this._perAddress.set(s.remoteAddress, n)
        else this._perAddress.delete(s.remoteAddress)
        this._tomb.set(s.id, [last, Date.now()])
      },
      log: (level, ...args) => log && log[level]('[lifeline]', ...args),
    }
    this._sweepT = setInterval(() => this._sweep(), o.sweepInterval)
    this._sweepT.unref()
    const server = o.server
    if (server) {
      // Requests for our path are ours; everything else goes to the listeners already there.
      const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>
      server.removeAllListeners('request')
      this._onRequest = (req, res) => {
        if (!this.handleRequest(req, res)) for (const fn of others) fn.call(server, req, res)
      }
      server.on('request', this._onRequest)
      server.on('upgrade', this.handleUpgrade)
    }
  }

  /**
   * Serve a request if it is for this endpoint; returns false otherwise (call your next
   * handler). Usable as Express/Connect middleware through `(req, res, next) => ... || next()`.
   */
  handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!this._mine(req)) return false
    res.setHeader('Cache-Control', 'no-store, no-cache, must-revalidate, no-transform')
    res.setHeader('Pragma', 'no-cache')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    const ask = this._ask(req)
    if (!this._cors(req, res, ask)) return true
    if (req.method == 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '86400' })
      res.end()
      return true
    }
    if (!ask || (ask.t != 'stream' && ask.t != 'polling')) return this._fail(res, 400, 'bad request'), true
    if (req.method == 'POST') this._post(req, res, ask)
    else if (req.method == 'GET') this._get(req, res, ask)
    else this._fail(res, 405, 'method not allowed')
    return true
  }

  /** Serve a WebSocket upgrade if it is for this endpoint (attached for you when `server` is given). */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this._mine(req)) return
    const ask = this._ask(req)
    if (!ask || ask.t != 'websocket' || !this._originOk(req, ask.origin)) {
      socket.end('HTTP/1.1 ' + (ask && ask.t == 'websocket' ? '403 Forbidden' : '400 Bad Request') + '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    socket.on('error', () => socket.destroy())
    const timer = setTimeout(() => socket.destroy(), this.o.requestTimeout)
    this._session(req, ask).then((got) => {
      clearTimeout(timer)
      if (socket.destroyed) return
      this._wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        if (Array.isArray(got)) {
          for (const f of got) ws.send(f, { binary: typeof f != 'string' })
          return ws.close(1000)
        }
        ws.send(T.Open + JSON.stringify(this._hello(got, 'websocket')))
        new WebSocketLink(ws, got, ask.ack)
      })
    })
  }

  /** Send to every session; returns how many took it. */
  broadcast(data: string | Buffer | ArrayBuffer | Uint8Array): number {
    let n = 0
    for (const s of this.sessions.values()) if (s._heard && !s.closed && s.send(data)) n++
    return n
  }

  /** Close every session with 1001 and stop serving. */
  close(code = 1001, reason = 'server shutting down'): void {
    if (this._closed) return
    this._closed = true
    clearInterval(this._sweepT)
    for (const s of [...this.sessions.values()]) s.close(code, reason)
    const server = this.o.server
    if (server && this._onRequest) {
      server.off('upgrade', this.handleUpgrade)
    }
    this._wss.close()
  }

  private _mine(req: IncomingMessage): boolean {
    const url = req.url || ''
    const q = url.indexOf('?')
    return (q < 0 ? url : url.slice(0, q)) == this.o.path
  }

  /** Parse and check the query; undefined when malformed. */
  private _ask(req: IncomingMessage): Ask | undefined {
    const p = new URLSearchParams((req.url || '').split('?')[1] || '')
    const sid = p.get('sid') || undefined
    const ack = +(p.get('ack') || 0)
    const hb = +(p.get('hb') || this.o.heartbeatInterval)
    if (p.get('v') != String(VERSION) || (sid && !SID.test(sid)) || !(ack >= 0 && ack <= Number.MAX_SAFE_INTEGER && ack % 1 == 0) || !(hb > 0)) return
    return {
      t: p.get('t') || '',
      sid,
      ack,
      hb: Math.max(1000, Math.min(hb, this.o.heartbeatInterval)),
      opening: p.get('o') == '1',
      token: p.get('token'),
      resume: p.get('r') != '0',
      origin: (req.headers.origin as string) || '',
      address: req.socket.remoteAddress || '',
    }
  }

  private _originOk(req: IncomingMessage, origin: string): boolean {
    const allow = this.o.origins
    if (!origin) return true
    if (allow == '*') return true
    if (typeof allow == 'function') return allow(origin, req)
    if (Array.isArray(allow)) return allow.indexOf(origin) >= 0
    try {
      return new URL(origin).host == req.headers.host
    } catch (e) {
      return false
    }
  }

  /** CORS: echo an allowed origin (credentials only for listed ones, never with '*'). */
  private _cors(req: IncomingMessage, res: ServerResponse, ask?: Ask): boolean {
    const origin = (req.headers.origin as string) || ''
    if (!origin) return true
    if (!this._originOk(req, origin)) {
      this._fail(res, 403, 'origin not allowed')
      return false
    }
    res.setHeader('Vary', 'Origin')
    if (this.o.origins == '*') res.setHeader('Access-Control-Allow-Origin', '*')
    else {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Access-Control-Allow-Credentials', 'true')
    }
    return !!ask || req.method == 'OPTIONS' || (this._fail(res, 400, 'bad request'), false)
  }

  private _fail(res: ServerResponse, status: number, reason: string, frames?: Frame[]): void {
    if (res.headersSent) return void res.end()
    res.writeHead(status, { 'Content-Type': frames ? 'application/octet-stream' : 'text/plain' })
    res.end(frames ? encode(frames) : reason)
  }

  /**
   * Find or make the session a connection asks for. Resolves to the session, or to the close
   * frame to answer with (unknown or ended session, limits, authentication refused).
   */
  private async _session(req: IncomingMessage, ask: Ask): Promise<ServerSession | Frame[]> {
    const o = this.o
    if (this._closed) return [closeFrame(1001, 'server shutting down')]
    if (ask.opening && o.authenticate) {
      let r
      try {
        r = await o.authenticate(req, ask.token || tokenFrom(req))
      } catch (e) {
        r = { ok: false as const, reason: 'authentication failed' }
      }
      if (!r.ok) return [closeFrame(1008, r.reason || 'unauthorized')]
      ;(req as { lifelineData?: unknown }).lifelineData = r.data
    }
    if (ask.sid) {
      const s = this.sessions.get(ask.sid)
      if (s && sameOrigin(s, ask.origin)) {
        // Only a connection-opening request asks for a heartbeat; later polls keep what it asked.
        if (ask.opening) s._hb = ask.hb
        return s
      }
      const tomb = this._tomb.get(ask.sid)
      return tomb && s === undefined ? tomb[0] : [closeFrame(4001, 'session unknown or expired')]
    }
    if (this.sessions.size >= o.maxSessions) return [closeFrame(1013, 'server full, try again later')]
    const n = this._perAddress.get(ask.address) || 0
    if (n >= o.maxSessionsPerAddress) return [closeFrame(4029, 'too many sessions from this address')]
    const s = new ServerSession(randomBytes(16).toString('base64url'), ask.address, req.headers, ask.origin, ask.resume, this._host)
    s.data = (req as { lifelineData?: unknown }).lifelineData
    s._hb = ask.hb
    this.sessions.set(s.id, s)
    this._perAddress.set(ask.address, n + 1)
    this._host.log('debug', 'session created', s.id, ask.t)
    return s
  }

  private _hello(s: ServerSession, t: string): Hello {
    const hb = t == 'polling' ? Math.min(this.o.pollHold, s._hb) : s._hb
    return { v: VERSION, sid: s.id, ack: s._received, hb, max: this.o.maxMessageSize }
  }

  private _get(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    this._session(req, ask).then((got) => {
      if (res.writableEnded || req.destroyed) return
      if (Array.isArray(got)) return this._fail(res, 200, '', got)
      got._lastIn = Date.now()
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Accel-Buffering': 'no' })
      const hello = ask.opening ? [T.Open + JSON.stringify(this._hello(got, ask.t))] : []
      if (ask.t == 'stream') {
        res.flushHeaders()
        if (hello.length) res.write(encode(hello))
        got._attach(new StreamLink(res, got, this.o.streamMaxBytes), ask.ack)
      } else {
        const link = new PollLink(res, got, Math.min(this.o.pollHold, got._hb), hello)
        got._attach(link, ask.ack)
        if (hello.length) link.write([])
      }
    })
  }

  private _post(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    const o = this.o
    const s = ask.sid && this.sessions.get(ask.sid)
    if (!s || !sameOrigin(s, ask.origin)) {
      const tomb = ask.sid && this._tomb.get(ask.sid)
      req.resume()
      // Only the close frame: data still owed goes down a GET, which carries the cursor.
      return this._fail(res, 404, 'session unknown', [tomb ? tomb[0][tomb[0].length - 1] : closeFrame(4001, 'session unknown or expired')])
    }
    const frames: Frame[] = []
    let size = 0
    let bad = ''
    const parser = new Parser((f) => frames.push(f), o.maxMessageSize + 65536)
    const timer = setTimeout(() => req.destroy(), o.requestTimeout)
    req.on('data', (chunk: Buffer) => {
      if (bad) return
      size += chunk.length
      try {
        if (size > o.maxPostBytes) throw new RangeError('body over maxPostBytes ' + o.maxPostBytes)
        parser.push(chunk)
        if (frames.length > o.maxFramesPerPost) throw new RangeError('more than maxFramesPerPost ' + o.maxFramesPerPost)
      } catch (e) {
        bad = (e as Error).message
        clearTimeout(timer)
        const big = e instanceof RangeError && /max/.test(bad)
        this._fail(res, big ? 413 : 400, bad)
        if (!big) s.close(1002, 'protocol error: ' + bad)
      }
    })
    req.on('end', () => {
      clearTimeout(timer)
      if (bad || res.writableEnded) return
      if (parser.pending) {
        this._fail(res, 400, 'truncated body')
        return s.close(1002, 'protocol error: truncated body')
      }
      const replies: Frame[] = []
      s._acked(ask.ack)
      const ok = s._receive(frames, ask.t as 'stream', replies)
      res.writeHead(ok ? 200 : 400, { 'Content-Type': 'application/octet-stream' })
      res.end(encode(ok ? replies : []))
    })
    req.on('error', () => clearTimeout(timer))
  }

  /** Heartbeats, dead connections, expiry: one pass over all sessions. */
  private _sweep(): void {
    const o = this.o
    const now = Date.now()
    for (const s of this.sessions.values()) {
      const links = Object.values(s._links)
      if (!s._heard && now - s._created > o.requestTimeout) s._finish(1000, 'abandoned')
      else if (links.length) {
        if (now - s._lastIn > s._hb + o.heartbeatTimeout) {
          this._host.log('debug', 'heartbeat timeout', s.id)
          for (const l of links) l!.end()
        } else if (now - s._lastOut >= s._hb && s._active != 'polling') s._control([T.Ping])
      } else if (now - s._detachedAt > o.sessionTtl) s._finish(4001, 'session expired')
    }
    for (const [id, [, at]] of this._tomb) if (now - at > o.sessionTtl) this._tomb.delete(id)
  }
}

/**
 * Whether a request may use a session: a session is bound to the origin of the page that made
 * it. Browsers send no `Origin` on same-origin GETs but do on POSTs and WebSockets, so a session
 * made without one is bound to the first origin that shows up (which has passed the allow-list).
 */
function sameOrigin(s: ServerSession, origin: string): boolean {
  if (!s.origin && origin) s.origin = origin
  return !origin || s.origin == origin
}

/** The token from an `Authorization: Bearer` header or a `lifeline_token` cookie. */
function tokenFrom(req: IncomingMessage): string | null {
  const auth = req.headers.authorization
  if (auth && /^Bearer /i.test(auth)) return auth.slice(7)
  const m = /(?:^|;\s*)lifeline_token=([^;]*)/.exec(req.headers.cookie || '')
  return m ? decodeURIComponent(m[1]) : null
}
