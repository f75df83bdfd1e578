import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { encode } from '../protocol/envelope'
import { LifelineError } from '../protocol/errors'
import {
  authenticate,
  BODY,
  corsHeaders,
  NO_STORE,
  parseAsk,
  REFUSED_ORIGIN,
  sameOrigin,
  sessionHeaders,
  type Ask,
} from './access'
import { checkUpstream, relay } from './gateway'
import { Code, FrameType, closeFrame, type Frame } from '../protocol/frames'
import { SERVER_DEFAULTS, type ServerOptions, type ServerResolved } from './options'
import type { SessionHost } from './link'
import { Verdict } from './liveness'
import { OriginGate } from './origin'
import { ClusterNode } from './cluster/node'
import { checkCluster } from './cluster/options'
import { Rooms, checkRoom } from './rooms'
import { ServerSession, payload } from './session'
import { Counters, type ServerStats } from './stats'
import { Tombs } from './tombs'
import { PollLink } from './transports/polling'
import { StreamLink } from './transports/stream'
import { WebSocketLink } from './transports/websocket'
import { ENDPOINT, routeOf, takeRequestsFirst } from './routing'
import { serveClientFile } from './script'
import { refuse, takePost } from './upload'

/** What `ll.to(room)` gives: send to every member of the room. */
export interface RoomTarget {
  /** Queue `data` for every member; resolves to how many took it. */
  send(data: string | Buffer | ArrayBuffer | Uint8Array): Promise<number>
}

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
  /** Every `statsInterval` ms (when set): what `stats()` returns, for a metrics library to push. */
  stats: [stats: ServerStats]
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
  private _sweepT?: NodeJS.Timeout
  private _host: SessionHost<ServerSession>
  private _origins: OriginGate
  private _rooms = new Rooms<ServerSession>()
  /** Cluster mode: requests are served from Redis by this node instead of from `sessions`. */
  private _cluster?: ClusterNode
  private _closed = false
  /** Misconfigurations already logged: each is logged once, not once per request. */
  private _told = new Set<string>()
  private _counters: Counters
  private _statsT?: NodeJS.Timeout

  constructor(options: ServerOptions = {}) {
    super()
    const o = (this.o = Object.assign({}, SERVER_DEFAULTS, options) as ServerResolved)
    if (o.upstream) checkUpstream(o.upstream)
    o.maxPostBytes = options.maxPostBytes || o.maxMessageSize + 2097152
    this._wss.options.maxPayload = o.maxMessageSize + 65536
    // A WebSocket that does not answer our close (it may not be reading) goes after this long.
    ;(this._wss.options as { closeTimeout?: number }).closeTimeout = o.requestTimeout // ws 8.19+; @types/ws lags
    const log = o.logger === undefined ? null : o.logger
    this._counters = new Counters(o.statsMaxReasons)
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
        this._rooms.leaveAll(s)
        const n = (this._perAddress.get(s.remoteAddress) || 1) - 1
        if (n) this._perAddress.set(s.remoteAddress, n)
        else this._perAddress.delete(s.remoteAddress)
        // Last words with messages in them keep those messages' bytes counted.
        this._tombs.bury(s.id, last, last.length > 1 ? s.bufferedAmount : 0)
      },
      log: (level, ...args) => log && log[level]('[lifeline]', ...args),
      stats: this._counters,
      rooms: this._rooms,
    }
    if (o.statsInterval > 0) {
      this._statsT = setInterval(() => this.emit('stats', this.stats()), o.statsInterval)
      this._statsT.unref()
    }
    this._origins = new OriginGate(o, this._host.log)
    if (options.cluster !== undefined) {
      if (o.upstream) throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster and upstream (gateway mode) do not mix')
      this._cluster = this._joinCluster(checkCluster(options.cluster))
    } else {
      // In cluster mode the node keeps its own time: its lease, pings and key lifetimes.
      this._sweepT = setInterval(() => this._sweep(), o.sweepInterval)
      this._sweepT.unref()
    }
    const server = o.server
    if (server) {
      // Slowloris: a request whose headers take longer than `requestTimeout` gets 408 from Node
      // (checked every `connectionsCheckingInterval`, 30 s unless the server was made with less).
      if (!(server.headersTimeout > 0 && server.headersTimeout <= o.requestTimeout))
        server.headersTimeout = o.requestTimeout
      // Requests for our path are ours; the app's listeners get every other one. `handleRequest`
      // is looked up per request, so that replacing it takes effect (test/support/fixtures.mjs
      // plays a dead server so).
      takeRequestsFirst(server, (req, res) => this.handleRequest(req, res))
      server.on('upgrade', this.handleUpgrade)
    }
  }

  /**
   * Serve a request if it is for this endpoint (or, with `serveClient`, for the script-tag build
   * under it); returns false otherwise (call your next handler). Usable as middleware:
   * `app.use('/rt', (req, res, next) => ll.handleRequest(req, res) || next())` in Express, which
   * keeps the full path in `req.originalUrl`.
   */
  handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const route = routeOf(req, this.o.path, this.o.serveClient)
    if (!route) return false
    if (route != ENDPOINT) {
      serveClientFile(req, res, route, (message) => this._tell(message, message))
      return true
    }
    const ask = parseAsk(req, this.o)
    const origin = (req.headers.origin as string) || ''
    let head = NO_STORE
    if (origin) {
      const refused = this._origins.refusal(req, origin)
      if (refused) {
        if (req.method == 'OPTIONS') refuse(res, 403, 'origin not allowed')
        else
          refuse(
            res,
            403,
            '',
            [closeFrame(Code.POLICY_VIOLATION, refused, ask ? ask.version : undefined)],
            REFUSED_ORIGIN,
          )
        return true
      }
      head = corsHeaders(this.o, origin)
      if (ask) ask.head = head
    }
    if (req.method == 'OPTIONS') {
      res.writeHead(204, {
        ...head,
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Max-Age': '86400',
      })
      res.end()
      return true
    }
    if (!ask || (ask.t != 'stream' && ask.t != 'polling'))
      return (refuse(res, 400, 'bad request', undefined, head), true)
    const cluster = this._cluster
    if (req.method == 'POST') cluster ? cluster.post(req, res, ask) : this._post(req, res, ask)
    else if (req.method == 'GET') cluster ? cluster.get(req, res, ask) : this._get(req, res, ask)
    else refuse(res, 405, 'method not allowed', undefined, head)
    return true
  }

  /** Serve a WebSocket upgrade if it is for this endpoint (attached for you when `server` is given). */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (routeOf(req, this.o.path, false) != ENDPOINT) return
    const ask = parseAsk(req, this.o)
    // RFC 6455 §4.2.2 / §10.2: a refused origin gets 403 to the handshake. The browser does not
    // show the page why; the server's log does.
    // Node's own error handling left the socket with the upgrade: without one, a client resetting
    // the connection after our answer would throw out of the process (regression test in
    // test/server/access.test.ts). Not a closure: it would keep this request alive as long as the socket.
    socket.on('error', destroy)
    if (!ask || ask.t != 'websocket' || this._origins.refusal(req, ask.origin)) {
      socket.end(
        'HTTP/1.1 ' +
          (ask && ask.t == 'websocket' ? '403 Forbidden' : '400 Bad Request') +
          '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      )
      return
    }
    if (this._cluster) return this._cluster.upgrade(req, socket, head, ask, () => socket.off('error', destroy))
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

  /**
   * A room's members (sessions that called `join(room)`, on every node in cluster mode), to send
   * to: `send(data)` queues `data` in each member's own log and resolves to how many took it (a
   * member past its bounds ends with 3900, as on `session.send`). In one process the messages
   * are queued before it returns; in cluster mode once it resolves. Throws
   * `LL_ERR_INVALID_OPTION` for a room name that is not a non-empty string,
   * `LL_ERR_INVALID_DATA` for data that is neither text nor bytes.
   *
   * @example
   * ll.on('connection', (s) => s.join('room:42'))
   * ll.to('room:42').send('hello, room')
   */
  to(room: string): RoomTarget {
    checkRoom(room)
    // Copied once here for every member, not once per member: the app may reuse its buffer.
    const cluster = this._cluster
    if (cluster) return { send: (data) => cluster.publish(room, payload(data)) }
    return { send: (data) => Promise.resolve(this._rooms.send(room, payload(data))) }
  }

  /** Send to every session whose client has spoken; returns how many took it. */
  broadcast(data: string | Buffer | ArrayBuffer | Uint8Array): number {
    // Copied once here for every session, not once per session: the app may reuse its buffer.
    const d = payload(data)
    // Cluster mode: to every confirmed session on every node; how many is not known at once.
    if (this._cluster) {
      this._cluster.broadcast(d).catch((e) => this._oops(e, () => {}))
      return 0
    }
    let n = 0
    for (const s of this.sessions.values()) if (s._heard && !s.closed && s._queue(d)) n++
    return n
  }

  /**
   * What the server sees (docs/observability.md): sessions by transport, the reasons clients gave
   * for their transport, reconnects, resumes and resets, bytes held, messages and bytes each way.
   *
   * @example
   * const { sessions, reasons } = ll.stats()
   * console.log(sessions.polling, 'on polling; because', reasons.polling)
   */
  stats(): ServerStats {
    return this._counters.snapshot(this.sessions.values(), this._total)
  }

  /** Close every session with 1001 and stop serving. */
  close(code = 1001, reason = 'server shutting down'): void {
    if (this._closed) return
    this._closed = true
    clearInterval(this._sweepT)
    clearInterval(this._statsT)
    // A cluster node drains instead: its sessions go on, on the other nodes.
    if (this._cluster) void this._cluster.close()
    else for (const s of [...this.sessions.values()]) s.close(code, reason)
    const server = this.o.server
    if (server) server.off('upgrade', this.handleUpgrade)
    this._wss.close()
  }

  /** Cluster mode: this server becomes a node; `sessions` lists those it owns. */
  private _joinCluster(c: ReturnType<typeof checkCluster>): ClusterNode {
    const host = this._host
    const node = new ClusterNode(
      c,
      {
        o: this.o,
        log: host.log,
        reserve: host.reserve,
        tell: (key, message) => this._tell(key, message),
        oops: (e) => this._oops(e, () => {}),
        confirm: (s) => {
          const session = s as unknown as ServerSession
          this.sessions.set(s.id, session)
          s.once('close', () => this.sessions.get(s.id) == session && this.sessions.delete(s.id))
          host.confirm(session)
        },
      },
      this._wss,
    )
    return node
  }

  /**
   * A misconfiguration, told once per `key`: to the logger at `error`, or, without one, as a
   * process warning (on stderr, as Node's own), since it breaks clients that the app never sees.
   */
  private _tell(key: string, message: string): void {
    if (this._told.has(key)) return
    this._told.add(key)
    const log = this.o.logger
    if (log) log.error('[lifeline]', message)
    else process.emitWarning(message, 'LifelineWarning')
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
    const refuse = (code: number, reason: string) => [closeFrame(code, reason, ask.version)]
    if (this._closed) return refuse(Code.GOING_AWAY, 'server shutting down')
    const refused = await authenticate(o, req, ask)
    if (refused) return refused
    const counters = this._counters
    if (ask.sid) {
      const s = this.sessions.get(ask.sid)
      const known = s && sameOrigin(s, ask.origin)
      if (ask.opening) {
        counters.reconnects++
        if (known) counters.resumes++
        else counters.resets++
      }
      if (s && known) {
        // Only a connection-opening request asks for a heartbeat; later polls keep what it asked.
        if (ask.opening) {
          s._hb = ask.hb
          counters.reason(ask.t, ask.why)
        }
        return s
      }
      const last = s === undefined && this._tombs.get(ask.sid)
      return last || refuse(Code.SESSION_EXPIRED, 'session unknown or expired')
    }
    if (this.sessions.size >= o.maxSessions) return refuse(Code.TRY_AGAIN_LATER, 'server full, try again later')
    const n = this._perAddress.get(ask.address) || 0
    if (n >= o.maxSessionsPerAddress) return refuse(Code.TOO_MANY_SESSIONS, 'too many sessions from this address')
    const s = new ServerSession(
      randomBytes(16).toString('base64url'),
      ask.address,
      sessionHeaders(req.headers),
      ask.origin,
      ask.resume,
      this._host,
    )
    s.data = (req as { lifelineData?: unknown }).lifelineData
    s._version = ask.version
    s._peer = req.socket.remoteAddress || ''
    s._hb = ask.hb
    this.sessions.set(s.id, s)
    this._perAddress.set(ask.address, n + 1)
    counters.created++
    counters.reason(ask.t, ask.why)
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
      // Only the close frame: data still owed goes down a GET, which carries the cursor. 200, as a
      // GET for it gets: the refusal is the protocol's, in the body (PROTOCOL.md §4.2), and a proxy
      // that replaces error bodies with its own page would lose it.
      return refuse(
        res,
        200,
        '',
        [last ? last[last.length - 1] : closeFrame(Code.SESSION_EXPIRED, 'session unknown or expired', ask.version)],
        ask.head,
      )
    }
    takePost(req, res, s, ask, this._host, (key, message) => this._tell(key, message))
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
      if (!s._heard && !links.length && now - s._detachedAt > o.requestTimeout)
        s._finish(Code.SESSION_EXPIRED, 'session unknown or expired')
      else if (links.length) this._watch(s, now)
      else if (now - s._detachedAt > o.sessionTtl) s._finish(Code.SESSION_EXPIRED, 'session expired')
    }
    this._tombs.sweep(now)
  }

  /** A connected session's liveness: heartbeats when idle, a probe when acknowledgements are overdue (§8). */
  private _watch(s: ServerSession, now: number): void {
    const active = s._active && s._links[s._active]
    if (now - s._lastIn > s._hb + this.o.heartbeatTimeout) {
      this._host.log('debug', 'heartbeat timeout', s.id)
      for (const l of Object.values(s._links)) l!.end(true)
      return
    }
    // A poll is a request the client makes again at once: a dead one is the client's to notice.
    if (!active || active.name == 'polling') return
    const verdict = s._liveness.check(now, active.name == 'websocket', s._outbound.outbox._oldestSize)
    if (verdict == Verdict.Dead) {
      this._host.log('debug', 'acknowledgements overdue and the ping unanswered: link ended', s.id)
      active.end(true)
    } else if (verdict == Verdict.Probe || now - s._outbound.lastOut >= s._hb) s._control([FrameType.Ping])
  }
}

/** A socket's error listener: let it go. */
function destroy(this: Duplex): void {
  this.destroy()
}
