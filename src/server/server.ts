import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { LifelineError } from '../protocol/errors'
import { Level, LEVELS, say } from '../protocol/log'
import { parseAsk } from './access'
import { admitRequest, admitUpgrade, answerUpgrade } from './admission'
import { checkUpstream, relay } from './gateway'
import { SERVER_DEFAULTS, type ServerOptions, type ServerResolved } from './options'
import { serverClock } from './clock'
import { LocalSessions, type LocalHost } from './local'
import { OriginGate } from './origin'
import { ClusterNode } from './cluster/node'
import { checkCluster } from './cluster/options'
import { checkRoom } from './rooms'
import type { ServerSession } from './session'
import { payload, type SessionData } from './session-api'
import { Counters, type ServerStats } from './stats'
import { ENDPOINT, routeOf, takeRequestsFirst } from './routing'
import { serveClientFile } from './client-script'
import { refuse } from './upload'

/** A `note` (a refusal a client may cause over and over) is logged at most this often per kind, ms. */
const NOTE_EVERY = 60000

/** Options of a room message. */
export interface RoomSendOptions {
  /**
   * A latest value (a ticker's rate): a member coming back from further behind gets only the
   * newest message of each `latest` key it missed (`true`: one key for the room), not every one;
   * messages without it it gets all (PROTOCOL.md §6.5). For clients that hold their room
   * positions; older clients get every message.
   */
  latest?: string | true
}

/** What `ll.to(room)` gives: send to every member of the room. */
export interface RoomTarget {
  /** Queue `data` for every member; resolves to how many took it. */
  send(data: string | Buffer | ArrayBuffer | Uint8Array, options?: RoomSendOptions): Promise<number>
}

/** Server-wide events; `In` and `Out` type the sessions' messages. */
export interface ServerEvents<In extends string | Buffer = string | Buffer, Out extends SessionData = SessionData> {
  /** A client's session is up (its first frame arrived). */
  connection: [session: ServerSession<In, Out>]
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
 *
 * `In` and `Out` type the sessions' messages received and sent, for the compiler only, as
 * `ServerSession`'s do: `new LifelineServer<Json<ToServer>, Json<ToClient>>(options)`.
 */
export interface LifelineServer<In extends string | Buffer = string | Buffer, Out extends SessionData = SessionData> {
  // Only the events there are, each listener typed by its event (Node's typing lets any name through).
  on<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents<In, Out>[K]) => void): this
  once<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents<In, Out>[K]) => void): this
  off<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents<In, Out>[K]) => void): this
}
export class LifelineServer<
  In extends string | Buffer = string | Buffer,
  Out extends SessionData = SessionData,
> extends EventEmitter {
  /** Every live session by id. */
  readonly sessions = new Map<string, ServerSession>()
  /** @internal */ readonly o: ServerResolved
  // No `clients` set: the sessions map already holds every live connection, and ws's tracking
  // costs a Set entry and a close listener (a closure) per socket.
  private _wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false })
  private _total = 0
  private _sweepT?: unknown
  /** What this server gives the sessions' side (in one process, or as a cluster node). */
  private _host: LocalHost
  private _origins: OriginGate
  /**
   * Who serves the requests: this process's sessions, or in cluster mode this node, from Redis
   * (`sessions` then lists those it owns).
   */
  private _node: LocalSessions | ClusterNode
  /** Set by `close()`: settles once this server has stopped. */
  private _closing?: Promise<void>
  /** Misconfigurations already logged: each is logged once, not once per request. */
  private _told = new Set<string>()
  private _counters: Counters
  private _statsT?: unknown

  constructor(options: ServerOptions = {}) {
    super()
    // `clock` is internal (a test's fake, `ServerResolved`): not an option apps are offered.
    const o = (this.o = Object.assign({ clock: serverClock }, SERVER_DEFAULTS, options) as ServerResolved)
    const clock = o.clock
    if (o.upstream) checkUpstream(o.upstream)
    o.maxPostBytes = options.maxPostBytes || o.maxMessageSize + 2097152
    this._wss.options.maxPayload = o.maxMessageSize + 65536
    // A WebSocket that does not answer our close (it may not be reading) goes after this long.
    ;(this._wss.options as { closeTimeout?: number }).closeTimeout = o.requestTimeout // ws 8.19+; @types/ws lags
    const log = o.logger === undefined ? console : o.logger
    /** When each `note` key was last logged. */
    const noted = new Map<string, number>()
    this._counters = new Counters(o.statsMaxReasons)
    this._host = {
      o,
      reserve: (n) => {
        if (n > 0 && this._total + n > o.maxTotalBuffered) return false
        this._total += n
        return true
      },
      account: (n) => (this._total += n),
      confirm: (s) => {
        if (o.upstream) relay(s, o.upstream, this._host)
        try {
          this.emit('connection', s)
        } catch (e) {
          // The app's bug must not tear the session's frame handling apart, nor the server down.
          this._oops(e, () => {}, 'connection handler threw:')
        }
      },
      log: (level, ...args) => say(log, o.logLevel, LEVELS.indexOf(level), args),
      note: (key, ...args) => {
        const now = clock.now()
        if (now - (noted.get(key) || -Infinity) < NOTE_EVERY) return
        noted.set(key, now)
        this._host.log('warn', ...args, '(logged at most once a minute)')
      },
      stats: this._counters,
      tell: (key, message) => this._tell(key, message),
      oops: (e, cleanup) => this._oops(e, cleanup),
    }
    if (o.statsInterval > 0) {
      this._statsT = clock.setInterval(() => this.emit('stats', this.stats()), o.statsInterval)
      clock.unref(this._statsT)
    }
    this._origins = new OriginGate(o, this._host.log)
    if (options.cluster !== undefined) {
      if (o.upstream) throw new LifelineError('LL_ERR_INVALID_OPTION', 'cluster and upstream (gateway mode) do not mix')
      this._node = this._joinCluster(checkCluster(options.cluster))
    } else {
      const local = (this._node = new LocalSessions(this.sessions, this._host, this._wss))
      // In cluster mode the node keeps its own time: its lease, pings and key lifetimes.
      this._sweepT = clock.setInterval(() => local.sweep(), o.sweepInterval)
      clock.unref(this._sweepT)
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
      server.on('upgrade', this._upgrade)
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
    const ask = admitRequest(req, res, parseAsk(req, this.o), this.o, this._origins)
    if (!ask) return true
    if (req.method == 'POST') this._node.post(req, res, ask)
    else if (req.method == 'GET') this._node.get(req, res, ask)
    else refuse(res, 405, 'method not allowed', undefined, ask.head)
    return true
  }

  /**
   * Serve a WebSocket upgrade if it is for this endpoint; returns false otherwise (hand it to your
   * next handler). Attached for you when `server` is given.
   */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    if (routeOf(req, this.o.path, false) != ENDPOINT) return false
    const asked = parseAsk(req, this.o)
    // Node's own error handling left the socket with the upgrade: without one, a client resetting
    // the connection after our answer would throw out of the process (regression test in
    // test/server/access.test.ts). Not a closure: it would keep this request alive as long as the socket.
    socket.on('error', destroy)
    const ask = admitUpgrade(req, socket, asked, this._origins)
    if (ask) this._node.upgrade(req, socket, head, ask, () => socket.off('error', destroy))
    return true
  }

  /**
   * The `upgrade` listener on the server given: an upgrade for another path that no other listener
   * is there to take gets 404 (Node hands an upgrade to its listeners only; without an answer a
   * client waits for its own timeout, a browser's WebSocket 15 s or more).
   */
  private _upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (this.handleUpgrade(req, socket, head) || this.o.server!.listenerCount('upgrade') > 1) return
    socket.on('error', destroy)
    answerUpgrade(socket, '404 Not Found')
  }

  /**
   * A room's members (sessions that called `join(room)`, on every node in cluster mode), to send
   * to: `send(data)` queues `data` in each member's own log and resolves to how many took it (a
   * member past its bounds ends with 3900, as on `session.send`). In one process the messages
   * are queued before it returns; in cluster mode once it resolves. Every member gets one server's
   * (one node's) messages to a room in the order of its `send()` calls (docs/scaling.md, "Order"). Throws
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
    const node = this._node
    if (node instanceof ClusterNode) return { send: (data, opts) => node.publish(room, payload(data), latestKey(opts)) }
    return { send: (data, opts) => Promise.resolve(node.rooms.send(room, payload(data), latestKey(opts))) }
  }

  /**
   * Send to every session whose client has spoken; returns how many took it. In cluster mode, to
   * every such session on every node, queued once the fan-out in Redis is done; the count is how
   * many there were as this node last knew (counted in Redis at most `nodeLease` / 3 ago, plus
   * those confirmed here since).
   */
  broadcast(data: string | Buffer | ArrayBuffer | Uint8Array): number {
    // Copied once here for every session, not once per session: the app may reuse its buffer.
    return this._node.broadcast(payload(data))
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

  /**
   * Close every session with 1001 and stop serving. Resolves once stopped: in one process at once;
   * in cluster mode once this node has let go of its sessions and closed its Redis connections
   * (within about two `nodeLease`s when Redis does not answer). Calling it again returns the same.
   */
  close(code = 1001, reason = 'server shutting down'): Promise<void> {
    if (this._closing) return this._closing
    this.o.clock.clearInterval(this._sweepT)
    this.o.clock.clearInterval(this._statsT)
    // A cluster node drains instead: its sessions go on, on the other nodes.
    const node = this._node
    if (node instanceof ClusterNode) this._closing = node.close()
    else {
      node.close(code, reason)
      this._closing = Promise.resolve()
    }
    const server = this.o.server
    if (server) server.off('upgrade', this._upgrade)
    this._wss.close()
    return this._closing
  }

  /** Cluster mode: this server becomes a node; `sessions` lists those it owns, as in one process. */
  private _joinCluster(c: ReturnType<typeof checkCluster>): ClusterNode {
    const host = this._host
    const node = new ClusterNode(
      c,
      {
        o: this.o,
        log: host.log,
        note: host.note,
        reserve: host.reserve,
        tell: host.tell,
        stats: this._counters,
        oops: (e) => this._oops(e, () => {}),
        adopt: (s) => {
          this.sessions.set(s.id, s)
          s.once('close', () => this.sessions.get(s.id) == s && this.sessions.delete(s.id))
        },
        confirm: host.confirm,
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
    const o = this.o
    if (o.logger === null) process.emitWarning(message, 'LifelineWarning')
    else say(o.logger || console, o.logLevel, Level.Error, [message])
  }

  /** Something that should not happen did: log it, undo what `cleanup` says; the server stays up. */
  private _oops(e: unknown, cleanup: () => void, what = 'internal error:'): void {
    this._host.log('warn', what, e)
    cleanup()
    if (this.listenerCount('error')) this.emit('error', e instanceof Error ? e : new Error(String(e)))
  }
}

/** A socket's error listener: let it go. */
function destroy(this: Duplex): void {
  this.destroy()
}

/** A room message's latest-value key (`RoomSendOptions.latest`): '' for the room's one key, undefined for none. */
function latestKey(o: RoomSendOptions | undefined): string | undefined {
  const k = o && (o.latest as unknown)
  if (k === undefined || k === false) return undefined
  if (k === true) return ''
  if (typeof k != 'string') throw new LifelineError('LL_ERR_INVALID_OPTION', 'latest must be a string or true')
  return k
}
