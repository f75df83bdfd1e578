import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import { Code, closeFrame, type Frame } from '../protocol/frames'
import { authenticate, sameOrigin, sessionHeaders, type Ask } from './access'
import { refuseSession } from './admission'
import type { Link, SessionHost } from './link'
import { RoomCursors } from './room-cursors'
import { Rooms } from './rooms'
import { LocalSession } from './local-session'
import { ServerSession } from './session'
import type { Counters } from './stats'
import { sweep } from './sweep'
import { serveGet, servePost, serveUpgrade, type Opened, type ServeHost } from './serve'
import { Tombs } from './tombs'

/** What one process's sessions need from their server. @internal */
export interface LocalHost extends Pick<SessionHost<ServerSession>, 'o' | 'confirm' | 'reserve' | 'log' | 'note'> {
  stats: Counters
  /** Bytes held past `maxTotalBuffered` all the same (ended sessions' last words), or given back. */
  account(bytes: number): void
  /** A misconfiguration, told once per `key`. */
  tell(key: string, message: string): void
  /** Something that should not happen did: logged, `cleanup` run, emitted as `error`. */
  oops(e: unknown, cleanup: () => void): void
}

/**
 * @internal
 * The sessions of one process (no `cluster` option): finds or makes the session a connection asks
 * for, within `maxSessions` and `maxSessionsPerAddress`; serves its polls, streams, uploads and
 * WebSockets; keeps its rooms, and the last words of those that ended for late requests; sweeps
 * them. In cluster mode a `ClusterNode` does all this instead, from Redis.
 */
export class LocalSessions {
  /** What each session's store is made with. */
  readonly host: SessionHost<LocalSession>
  readonly rooms: Rooms<LocalSession>
  /** Every live session's store by id (the app's sides are in the server's `sessions`). */
  private _stores = new Map<string, LocalSession>()
  private _perAddress = new Map<string, number>()
  /** Ended sessions' last words, for late requests. */
  private _tombs: Tombs
  /** What serving requests needs of the server (serve.ts). */
  private _serving: ServeHost
  private _closed = false

  constructor(
    /** Every live session by id (the server's `sessions`). */
    private readonly _sessions: Map<string, ServerSession>,
    private readonly _server: LocalHost,
    private readonly _wss: WebSocketServer,
  ) {
    const o = _server.o
    this._tombs = new Tombs(o.maxSessions, o.sessionTtl, _server.account, o.clock)
    this._serving = { ..._server, oops: (e) => _server.oops(e, () => {}) }
    this.rooms = new Rooms<LocalSession>(o.roomHistorySize, o.roomHistoryAge, o.clock)
    this.host = {
      o,
      reserve: _server.reserve,
      confirm: (s) => _server.confirm(s._session),
      gone: (s, code, reason, last) => this._gone(s, last),
      log: _server.log,
      note: _server.note,
      stats: _server.stats,
      rooms: this.rooms,
    }
  }

  /** A poll or a stream. */
  get(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    serveGet(this, this._serving, req, res, ask)
  }

  /** An upload (frames from the client to a session that exists). */
  post(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    servePost(this, this._serving, req, res, ask)
  }

  /** A WebSocket upgrade whose origin was let in; `done` once ws has the socket. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ask: Ask, done: () => void): void {
    serveUpgrade(this, this._serving, this._wss, { req, socket, head, ask, done })
  }

  /**
   * The session a request names, with its hello, or the frames to answer with (serve.ts). An
   * upload's session must exist: a late one for an ended session gets its close frame (data still
   * owed goes down a GET, which carries the cursor).
   */
  async open(req: IncomingMessage, ask: Ask, post = false): Promise<Opened | Frame[]> {
    if (post) {
      const s = ask.sid && this._stores.get(ask.sid)
      if (s && sameOrigin(s._session, ask.origin)) return { s, hello: () => s._hello(ask.t as Link['name']) }
      const last = ask.sid && this._tombs.get(ask.sid)
      return [
        last ? last[last.length - 1] : closeFrame(Code.SESSION_EXPIRED, 'session unknown or expired', ask.version),
      ]
    }
    const got = await this.find(req, ask)
    if (Array.isArray(got)) return got
    got._lastIn = this.host.o.clock.now()
    return { s: got, hello: () => got._hello(ask.t as Link['name']) }
  }

  /**
   * Find or make the session a connection asks for. Resolves to the session, or to the close
   * frame to answer with (unknown or ended session, limits, authentication refused).
   */
  async find(req: IncomingMessage, ask: Ask): Promise<LocalSession | Frame[]> {
    const o = this.host.o
    const refuse = (code: number, reason: string) => [closeFrame(code, reason, ask.version)]
    if (this._closed) return refuse(Code.GOING_AWAY, 'server shutting down')
    const refused = await authenticate(o, req, ask)
    if (refused) return refused
    const counters = this._server.stats
    if (ask.sid) {
      const s = this._stores.get(ask.sid)
      const known = s && sameOrigin(s._session, ask.origin)
      if (ask.opening) counters.reconnect(!!known)
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
    if (this._sessions.size >= o.maxSessions) return refuseSession(this._server, Code.TRY_AGAIN_LATER, ask.version)
    const n = this._perAddress.get(ask.address) || 0
    if (n >= o.maxSessionsPerAddress) return refuseSession(this._server, Code.TOO_MANY_SESSIONS, ask.version)
    let s!: LocalSession
    const app = new ServerSession(
      randomBytes(16).toString('base64url'),
      ask.address,
      sessionHeaders(req.headers),
      ask.origin,
      ask.resume,
      (app) => (s = new LocalSession(app, this.host)),
    )
    app.data = (req as { lifelineData?: unknown }).lifelineData
    app._peer = req.socket.remoteAddress || ''
    s._version = ask.version
    s._hb = ask.hb
    // A client that holds its room positions gets room messages by offset (PROTOCOL.md §6.5).
    if (ask.got) s._roomCursors = new RoomCursors()
    this._stores.set(s.id, s)
    this._sessions.set(s.id, app)
    this._perAddress.set(ask.address, n + 1)
    counters.created++
    counters.reason(ask.t, ask.why)
    this.host.log('debug', 'session created', s.id, ask.t)
    return s
  }

  /** Send to every session whose client has spoken; returns how many took it. */
  broadcast(d: string | Buffer): number {
    let n = 0
    for (const s of this._stores.values()) if (s._heard && !s.closed && s._queue(d)) n++
    return n
  }

  /** Heartbeats, dead connections, expiry; forget last words past `sessionTtl`. */
  sweep(): void {
    const now = this.host.o.clock.now()
    sweep(this._stores.values(), now, this.host)
    this._tombs.sweep(now)
  }

  /** Refuse new connections; end every session with `code`. */
  close(code: number, reason: string): void {
    this._closed = true
    for (const s of [...this._sessions.values()]) s.close(code, reason)
  }

  private _gone(s: LocalSession, last: Frame[]): void {
    if (this._stores.get(s.id) != s) return
    this._stores.delete(s.id)
    this._sessions.delete(s.id)
    this.rooms.leaveAll(s)
    const address = s._session.remoteAddress
    const n = (this._perAddress.get(address) || 1) - 1
    if (n) this._perAddress.set(address, n)
    else this._perAddress.delete(address)
    // Last words with messages in them keep those messages' bytes counted.
    this._tombs.bury(s.id, last, last.length > 1 ? s.bufferedAmount : 0)
  }
}
