import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { encode } from '../protocol/envelope'
import { authenticate, BODY, corsHeaders, NO_STORE, originOk, parseAsk, sameOrigin, sessionHeaders, type Ask } from './access'
import { checkUpstream, relay } from './gateway'
import { closeFrame, T, type Frame } from '../protocol/frames'
import { SERVER_DEFAULTS, type ServerOptions, type ServerResolved } from './options'
import { ServerSession, type SessionHost } from './session'
import { Tombs } from './tombs'
import { PollLink } from './transports/polling'
import { StreamLink } from './transports/stream'
import { WebSocketLink } from './transports/websocket'
import { receivePost, refuse } from './upload'

/** Server-wide events. */
export interface ServerEvents {
  /** A client's session is up (its first frame arrived). */
  connection: [session: ServerSession]
  /**
   * Something went wrong outside any one session: an internal error, or an app handler of
   * `connection` that threw. Logged at `warn` as well; emitted only when listened to, so an
   * unhandled one never takes the process down.
   */
  error: [error: Error]
}

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
  // No `clients` set: the sessions map already holds every live connection, and ws's tracking
  // costs a Set entry and a close listener (a closure) per socket.
  private _wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false })
  private _total = 0
  private _perAddress = new Map<string, number>()
  /** Ended sessions' last words, for late requests. */
  private _tombs: Tombs
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
    // A WebSocket that does not answer our close (it may not be reading) goes after this long.
    ;(this._wss.options as { closeTimeout?: number }).closeTimeout = o.requestTimeout // ws 8.19+; @types/ws lags
    const log = o.logger === undefined ? null : o.logger
    this._tombs = new Tombs(o.maxSessions, o.sessionTtl, (n) => (this._total += n))
    this._host = {
      o,
      reserve: (n) => {
        if (n > 0 && this._total + n > o.maxTotalBuffered) return false
        this._total += n
        return true
      },
      confirm: (s) => {
        if (o.upstream) relay(s, o.upstream, this._host)
        try {
          this.emit('connection', s)
        } catch (e) {
          // The app's bug must not tear the session's frame handling apart, nor the server down.
          this._oops(e, () => {})
        }
      },
      gone: (s, code, reason, last) => {
        if (this.sessions.get(s.id) != s) return
        this.sessions.delete(s.id)
        const n = (this._perAddress.get(s.remoteAddress) || 1) - 1
        if (n) this._perAddress.set(s.remoteAddress, n)
        else this._perAddress.delete(s.remoteAddress)
        // Last words with messages in them keep those messages' bytes counted.
        this._tombs.bury(s.id, last, last.length > 1 ? s.bufferedAmount : 0)
      },
      log: (level, ...args) => log && log[level]('[lifeline]', ...args),
    }
    this._sweepT = setInterval(() => this._sweep(), o.sweepInterval)
    this._sweepT.unref()
    const server = o.server
    if (server) {
      // Slowloris: a request whose headers take longer than `requestTimeout` gets 408 from Node
      // (checked every `connectionsCheckingInterval`, 30 s unless the server was made with less).
      if (!(server.headersTimeout > 0 && server.headersTimeout <= o.requestTimeout)) server.headersTimeout = o.requestTimeout
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
    const ask = parseAsk(req, this.o)
    const origin = (req.headers.origin as string) || ''
    let head = NO_STORE
    if (origin) {
      if (!originOk(this.o, req, origin, this._host.log)) return refuse(res, 403, '', [closeFrame(1008, 'origin not allowed')]), true
      head = corsHeaders(this.o, origin)
      if (ask) ask.head = head
    }
    if (req.method == 'OPTIONS') {
      res.writeHead(204, { ...head, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '86400' })
      res.end()
      return true
    }
    if (!ask || (ask.t != 'stream' && ask.t != 'polling')) return refuse(res, 400, 'bad request', undefined, head), true
    if (req.method == 'POST') this._post(req, res, ask)
    else if (req.method == 'GET') this._get(req, res, ask)
    else refuse(res, 405, 'method not allowed', undefined, head)
    return true
  }

  /** Serve a WebSocket upgrade if it is for this endpoint (attached for you when `server` is given). */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this._mine(req)) return
    const ask = parseAsk(req, this.o)
    if (!ask || ask.t != 'websocket' || !originOk(this.o, req, ask.origin, this._host.log)) {
      socket.end('HTTP/1.1 ' + (ask && ask.t == 'websocket' ? '403 Forbidden' : '400 Bad Request') + '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    // Not a closure here: it would keep this request (headers and all) alive as long as the socket.
    socket.on('error', destroy)
    this._session(req, ask)
      .then((got) => {
        if (socket.destroyed) return
        this._wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          // ws has its own error listener on the socket from now on.
          socket.off('error', destroy)
          if (Array.isArray(got)) {
            for (const f of got) ws.send(f)
            return ws.close(1000)
          }
          ws.send(got._hello('websocket'))
          new WebSocketLink(ws, got, ask.ack)
        })
      })
      .catch((e) => this._oops(e, () => socket.destroy()))
  }

  /** Send to every session; returns how many took it. */
  broadcast(data: string | Buffer | ArrayBuffer | Uint8Array): number {
    // Converted once here, not once per session.
    const d = typeof data == 'string' || Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    let n = 0
    for (const s of this.sessions.values()) if (s._heard && !s.closed && s.send(d)) n++
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

  /** Something that should not happen did: log it, undo what `cleanup` says; the server stays up. */
  private _oops(e: unknown, cleanup: () => void): void {
    this._host.log('warn', 'internal error:', e)
    cleanup()
    if (this.listenerCount('error')) this.emit('error', e instanceof Error ? e : new Error(String(e)))
  }

  /**
   * Find or make the session a connection asks for. Resolves to the session, or to the close
   * frame to answer with (unknown or ended session, limits, authentication refused).
   */
  private async _session(req: IncomingMessage, ask: Ask): Promise<ServerSession | Frame[]> {
    const o = this.o
    if (this._closed) return [closeFrame(1001, 'server shutting down')]
    const refused = await authenticate(o, req, ask)
    if (refused) return refused
    if (ask.sid) {
      const s = this.sessions.get(ask.sid)
      if (s && sameOrigin(s, ask.origin)) {
        // Only a connection-opening request asks for a heartbeat; later polls keep what it asked.
        if (ask.opening) s._hb = ask.hb
        return s
      }
      const last = s === undefined && this._tombs.get(ask.sid)
      return last || [closeFrame(4001, 'session unknown or expired')]
    }
    if (this.sessions.size >= o.maxSessions) return [closeFrame(1013, 'server full, try again later')]
    const n = this._perAddress.get(ask.address) || 0
    if (n >= o.maxSessionsPerAddress) return [closeFrame(4029, 'too many sessions from this address')]
    const s = new ServerSession(randomBytes(16).toString('base64url'), ask.address, sessionHeaders(req.headers), ask.origin, ask.resume, this._host)
    s.data = (req as { lifelineData?: unknown }).lifelineData
    s._peer = req.socket.remoteAddress || ''
    s._hb = ask.hb
    this.sessions.set(s.id, s)
    this._perAddress.set(ask.address, n + 1)
    this._host.log('debug', 'session created', s.id, ask.t)
    return s
  }

  private _get(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    this._session(req, ask)
      .then((got) => {
        if (res.writableEnded || req.destroyed) return
        if (Array.isArray(got)) return refuse(res, 200, '', got, ask.head)
        got._lastIn = Date.now()
        const hello = ask.opening ? [got._hello(ask.t as 'stream' | 'polling')] : []
        if (ask.t == 'stream') {
          res.writeHead(200, { ...ask.head, ...BODY }).flushHeaders()
          if (hello.length) res.write(encode(hello))
          got._attach(new StreamLink(res, got, this.o.streamMaxBytes), ask.ack)
        } else {
          const link = new PollLink(res, got, Math.min(this.o.pollHold, got._hb), hello, ask.head)
          got._attach(link, ask.ack)
          if (hello.length) link.write([])
        }
      })
      .catch((e) => this._oops(e, () => res.destroy()))
  }

  private _post(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    const s = ask.sid && this.sessions.get(ask.sid)
    if (!s || !sameOrigin(s, ask.origin)) {
      const last = ask.sid && this._tombs.get(ask.sid)
      // Only the close frame: data still owed goes down a GET, which carries the cursor.
      return refuse(res, 404, 'session unknown', [last ? last[last.length - 1] : closeFrame(4001, 'session unknown or expired')], ask.head)
    }
    receivePost(req, res, s, ask, this._host)
  }

  /** Heartbeats, dead connections, expiry: one pass over all sessions. */
  private _sweep(): void {
    const o = this.o
    const now = Date.now()
    for (const s of this.sessions.values()) {
      const links = Object.values(s._links)
      // Never confirmed and no connection left (a race's loser, a client gone right after the
      // hello): a client that comes back for it starts a new session, as for any expired one. One
      // still connected is judged by heartbeats instead: its first frame may be late on a slow
      // network, and the client already has `open`.
      if (!s._heard && !links.length && now - s._detachedAt > o.requestTimeout) s._finish(4001, 'session unknown or expired')
      else if (links.length) {
        if (now - s._lastIn > s._hb + o.heartbeatTimeout) {
          this._host.log('debug', 'heartbeat timeout', s.id)
          for (const l of links) l!.end()
        } else if (now - s._lastOut >= s._hb && s._active != 'polling') s._control([T.Ping])
      } else if (now - s._detachedAt > o.sessionTtl) s._finish(4001, 'session expired')
    }
    this._tombs.sweep(now)
  }
}

/** A socket's error listener: let it go. */
function destroy(this: Duplex): void {
  this.destroy()
}
