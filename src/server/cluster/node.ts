// One node of a cluster (docs/scaling.md): serves any request of any session from Redis, owns the
// sessions it made or took over (their handlers run here), keeps its liveness lease, and follows
// the hints other nodes publish for it. `LifelineServer` hands it its requests in cluster mode.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import { Code, closeFrame, type Frame } from '../../protocol/frames'
import { authenticate, sessionHeaders, type Ask } from '../access'
import { helloFrame } from '../hello'
import { refuseSession } from '../admission'
import type { ServerResolved, TransportName } from '../options'
import type { Counters } from '../stats'
import type { ClusterResolved } from './options'
import { ServerSession } from '../session'
import { OwnedSession, type OwnerHost } from './owned'
import { isDurable, loadScripts } from './redis'
import { openLink } from './redis-cluster'
import { lastWords, splitEnd } from './last-words'
import { serveGet, servePost, serveUpgrade, type Opened } from '../serve'
import { Publisher } from './publisher'
import { RoomFeeds } from './feeds'
import { Served, type ServedHost } from './served'
import { ALL, Upkeep } from './upkeep'
import type { Hint, SessionFields } from './records'
import { ClusterStore } from './store'

/** What a node needs from its server. @internal */
export interface NodeHost {
  o: ServerResolved
  log(level: 'debug' | 'info' | 'warn', ...args: unknown[]): void
  note(key: string, ...args: unknown[]): void
  /** A session is owned here from now on (the server's `sessions` lists it until its `close`). */
  adopt(s: ServerSession): void
  /** Emit `connection`. */
  confirm(s: ServerSession): void
  /** An internal error: logged and emitted as `error`. */
  oops(e: unknown): void
  tell(key: string, message: string): void
  /** Account bytes held across sessions (POST bodies being read); false past `maxTotalBuffered`. */
  reserve(n: number): boolean
  /** The server's counters (`stats()`): this node's share of the cluster's. */
  stats: Counters
}

/** @internal */
export class ClusterNode {
  /** Sessions this node owns (their handlers run here), by id. */
  readonly owned = new Map<string, OwnedSession>()
  /** Sessions with a link here, by id. */
  readonly served = new Map<string, Served>()
  store!: ClusterStore
  /** Settles once the node holds a lease (at start, and again after it lapsed: `_lapsed`). */
  ready: Promise<void>
  _closed = false
  /** Its lease, sweeps and pings. */
  private _upkeep = new Upkeep(this)
  private _alive = new Map<string, { ok: boolean; at: number }>()
  /** Takeovers under way here, by session. */
  private _claims = new Map<string, Promise<boolean>>()
  /** Room changes made here that a room message from here must come after. */
  private _pending = new Set<Promise<unknown>>()
  /** Closes made here that a new session must come after (as in one process, a closed one's place is free). */
  private _ending = new Set<Promise<unknown>>()
  /** The same by session: a request for one closed here reads it once its end is in Redis. */
  private _closing = new Map<string, Promise<unknown>>()
  /** Room messages from here, one fan-out at a time, in the order they were sent. */
  private _publisher = new Publisher(async (room, messages, keys) => {
    // Once in the room's log for members whose clients hold their positions (one write), then into
    // the own log of each member whose client does not (and of every session, for broadcast()).
    const rooms = this.store.rooms
    const logged = room == ALL ? 0 : await rooms.loggedCount(room)
    if (logged) await rooms.logs.append(room, messages, keys)
    const r = await rooms.publish(room, messages, this.c.fanoutChunk)
    return r.delivered + logged
  }, this.c.maxPublishQueue)
  /** Rooms followed here (their channel subscribed), with the sessions served here in each. */
  readonly feeds = new RoomFeeds(this)
  /**
   * Confirmed sessions on every node, as Redis last counted them (each tick, each broadcast), with
   * those whose count was not in Redis yet: what `broadcast()` returns at once.
   */
  _everyone = 0
  /** Confirmed sessions whose entry in the broadcast room Redis does not have yet. */
  _joining = 0
  private _ownerHost: OwnerHost
  private _servedHost: ServedHost

  constructor(
    readonly c: ClusterResolved,
    readonly _host: NodeHost,
    private _wss: WebSocketServer,
  ) {
    const o = _host.o
    const log = _host.log
    this._ownerHost = {
      get store() {
        return node.store
      },
      o,
      log,
      stats: _host.stats,
      confirm: (s) => {
        this._joining++
        this._everyone++
        void s._write(() => this.store.rooms.join(s.id, s._fence, ALL)).finally(() => this._joining--)
        _host.confirm(s._session)
      },
      gone: (s, ended) => {
        if (this.owned.get(s.id) != s) return
        this.owned.delete(s.id)
        if (s._heard) this._everyone = Math.max(0, this._everyone - 1)
        // Not when it was fenced or let go: then a sweep finds it in this node's set, orphaned.
        if (ended) this.store.lease.disowned(this.store.node, s.id).catch(() => {})
      },
      held: () => this._upkeep.held(),
      appended: (sid, first, messages) => {
        const s = this.served.get(sid)
        if (s) s._appended(first, messages)
      },
      track: (p) => tracked(this._pending, p),
      ending: (p, sid) => {
        tracked(this._ending, p)
        this._closing.set(sid, p)
        void p.finally(() => this._closing.get(sid) == p && this._closing.delete(sid))
      },
      follow: (s, room) => this._publisher.follow(room ? [...roomsOf(s), room] : roomsOf(s)),
    }
    this._servedHost = {
      get store() {
        return node.store
      },
      o,
      log,
      stats: _host.stats,
      active: (sid, kind) => this._via(sid, kind),
      reserve: (n) => _host.reserve(n),
      feeds: this.feeds,
      received: (sid, first, messages) => {
        const s = this.owned.get(sid)
        if (!s) return
        s._confirm()
        if (messages.length) s._arrived(first, messages)
        else void s._pull()
      },
      queued: (sid) => {
        const s = this.owned.get(sid)
        if (!s) return
        s._flush()
        const writing = s._writing()
        // A write that failed is the owner's to tell; what waits for it only needs it settled.
        return writing && writing.catch(() => {})
      },
      idle: (s) => {
        if (this.served.get(s.id) != s || !(s.closed || !Object.keys(s._links).length)) return
        this.served.delete(s.id)
        // Its keys expire sessionTtl from now, unless a link comes back (here or elsewhere): holds.ts.
        this.store.holds.left(s.id)
      },
    }
    const node = this
    this.ready = this._start()
    this.ready.catch((e) => _host.oops(e))
  }

  private async _start(): Promise<void> {
    const link = await openLink(this.c.redis)
    const o = this._host.o
    const durable = this.c.durable ?? (await isDurable(link))
    if (!durable)
      this._host.log('info', 'cluster: Redis is not appendfsync always (not durable): a Redis restart resets sessions')
    this.store = new ClusterStore(link, {
      durable,
      prefix: this.c.prefix,
      nodeLease: this.c.nodeLease,
      sessionTtl: o.sessionTtl,
      maxBufferedAmount: o.maxBufferedAmount,
      maxQueueLength: o.maxQueueLength,
      roomHistorySize: o.roomHistorySize,
      roomHistoryAge: o.roomHistoryAge,
      clock: o.clock,
    })
    await loadScripts(link)
    if (!(await this.store.lease.heartbeat())) throw new Error('cluster: node id taken: ' + this.store.node)
    await this.store.listen((h) => this._hint(h))
    // Hints sent while the subscriber was away are lost: the logs are read again.
    link.onReady(() => this._upkeep.reconcile())
    this._upkeep.start(Math.max(100, Math.floor(this.c.nodeLease / 3)))
  }

  _hint(h: Hint): void {
    const served = this.served.get(h.sid)
    const owned = this.owned.get(h.sid)
    if (h.kind == 'w' && served && !served._has(h.seq || 0)) void served.pump()
    else if (h.kind == 'i' && owned) {
      owned._confirm()
      void owned._pull()
    } else if (h.kind == 'a') {
      if (served) served._switched(h.active || '', this.store.node)
      this._via(h.sid, h.active ? (h.active.split(' ')[0] as TransportName) : undefined)
    } else if (h.kind == 'd' && owned) owned._acked(h.seq || 0, h.bytes || 0)
    else if (h.kind == 'r' && served) void served._rooms._changed()
    else if (h.kind == 'x' && owned) owned._expires(h.left || 0)
    else if (h.kind == 'e') {
      if (served) void served.pump()
      if (owned)
        this.store
          .session(h.sid)
          .then((info) => owned._refused(endOf(info)))
          .catch(() => {})
    }
  }

  /**
   * The session's active link is of `kind` now (undefined: the active link here went away). Its
   * owner's `transport` says so; polling counts between polls (its link comes and goes).
   */
  private _via(sid: string, kind: TransportName | undefined): void {
    const s = this.owned.get(sid)
    if (!s) return
    s._heardAt = this._host.o.clock.now()
    if (kind || s._kind != 'polling') s._kind = kind
  }

  /** Whether `node`'s lease is held (cached briefly: every request asks). */
  private async _isAlive(node: string): Promise<boolean> {
    if (node == this.store.node) return true
    const now = this._host.o.clock.now()
    const known = this._alive.get(node)
    if (known && now - known.at < this.c.nodeLease / 5) return known.ok
    const ok = await this.store.lease.alive(node)
    this._alive.set(node, { ok, at: now })
    return ok
  }

  /**
   * Find or make the session a request asks for (../serve.ts answers with it), and own it if its
   * owner is gone. Resolves to what this node holds of it and its hello, or to the frames to answer
   * with instead.
   */
  async open(req: IncomingMessage, ask: Ask, post = false): Promise<Opened | Frame[]> {
    await this.ready
    const o = this._host.o
    const no = (code: number, reason: string) => [closeFrame(code, reason, ask.version)]
    if (this._closed) return no(Code.GOING_AWAY, 'server shutting down')
    if (!post) {
      const refused = await authenticate(o, req, ask)
      if (refused) return refused
    }
    const store = this.store
    const counters = this._host.stats
    let sid = ask.sid
    let received = 0
    let deadActive = ''
    /** The heartbeat the session's connection-opening request asked for (a poll's hold time); 0: not known. */
    let hb = ask.opening ? ask.hb : 0
    if (!sid) {
      if (this._ending.size) await Promise.all([...this._ending])
      sid = randomBytes(16).toString('base64url')
      // The client's `ack` counts an old session's messages (its first request after a reset goes
      // before the new hello): this one has sent none. Taken as the cursor, a stream or WebSocket
      // skipped the new session's first messages, waiting for seq `ack + 1` (issue 26).
      ask.ack = 0
      // Both limits hold across the cluster (census.ts): every node counts in the same sets.
      const admitted = await store.census.admit(sid, ask.address, o.maxSessions, o.maxSessionsPerAddress)
      if (admitted == 'full') return refuseSession(this._host, Code.TRY_AGAIN_LATER, ask.version)
      if (admitted == 'address') return refuseSession(this._host, Code.TOO_MANY_SESSIONS, ask.version)
      const headers = sessionHeaders(req.headers)
      const data = (req as { lifelineData?: unknown }).lifelineData
      const positions = !!ask.got
      const info = { origin: ask.origin, address: ask.address, reliable: ask.resume, headers, data, positions, hb }
      // In this node's set first: were it to die now, a sweep finds the session.
      await store.lease.owns(sid)
      await store.createSession(sid, info)
      counters.created++
      counters.reason(ask.t, ask.why)
      let s!: OwnedSession
      const app = new ServerSession(sid, ask.address, headers, ask.origin, ask.resume, (app) => {
        return (s = new OwnedSession(app, 1, 0, 0, this._ownerHost))
      })
      app.data = data
      s._hb = ask.hb
      s._logged = positions
      // Its first link is its active one (ACTIVATE makes the first link active): known now, so
      // that `transport` is set in the app's `connection` handler as in one process, not once
      // Redis has answered the activation (a client that spoke first was heard before that).
      s._kind = ask.t as TransportName
      this._adopt(s)
      this._host.log('debug', 'session created', sid, ask.t)
    } else {
      await this._closing.get(sid)
      const info = await store.session(sid)
      // As in one process: a session made without an Origin is bound to the first that shows up.
      if (info && !info.ended && !info.origin && ask.origin) info.origin = await store.bindOrigin(sid, ask.origin)
      // A connection-opening request is a reconnect, a resume or a reset.
      const known = !!info && !info.ended && !(info.origin && ask.origin && info.origin != ask.origin)
      if (ask.opening && !post) counters.reconnect(known)
      if (!info) return no(Code.SESSION_EXPIRED, 'session unknown or expired')
      if (info.ended) return post ? no(...splitEnd(info.ended)) : lastWords(store, sid, info, ask, o)
      if (!known) return no(Code.SESSION_EXPIRED, 'session unknown or expired')
      if ((await store.ackOutgoing(sid, ask.ack)).status == 'ahead')
        return no(Code.SESSION_EXPIRED, 'session unknown or expired')
      if (ask.opening && !post) counters.reason(ask.t, ask.why)
      // Kept in Redis for the session's later requests, on any node: a poll after the opening one
      // was held for the server's 25 s instead of what the client asked for (issue 26).
      if (ask.opening && String(ask.hb) != info.heartbeat) await store.heartbeat(sid, ask.hb)
      hb = hb || +info.heartbeat
      await this._own(sid, info)
      const mine = this.owned.get(sid)
      if (mine) {
        mine._session.origin = info.origin
        // The client spoke (any request of it counts, as in one process): its transport is current.
        mine._heardAt = o.clock.now()
        if (ask.opening) mine._hb = ask.hb
      }
      received = +info.received
      const holder = info.active ? info.active.split(' ')[1] : ''
      const kind = info.active ? info.active.split(' ')[0] : ''
      const here = this.served.get(sid)
      if (holder && (holder == store.node ? !(here && here._links[kind as 'stream']) : !(await this._isAlive(holder))))
        deadActive = info.active
    }
    let s = this.served.get(sid)
    if (!s || s.closed) this.served.set(sid, (s = new Served(sid, ask.version, hb || ask.hb, this._servedHost)))
    s._reliable = ask.resume
    s._version = ask.version
    if (hb) s._hb = hb
    s._deadActive = deadActive
    const served = s
    return { s, hello: () => helloFrame(o, sid!, received, served._hb, ask.t) }
  }

  /** `s` is owned here from now on. */
  private _adopt(s: OwnedSession): void {
    this.owned.set(s.id, s)
    this._host.adopt(s._session)
  }

  /**
   * Own session `sid` if its owner is gone (its lease lapsed, or it let go): takeover. Whether it
   * is owned here. Callers at once (two requests, a request and the sweep) share one claim: a
   * second claim by this node is given the same fencing token, and two owners of one session here
   * handed the app its messages twice and took each other's appends for retries (issue 26).
   */
  _own(sid: string, info: SessionFields): Promise<boolean> {
    if (this.owned.has(sid)) return Promise.resolve(true)
    let claim = this._claims.get(sid)
    if (!claim) {
      claim = this._claim(sid, info).finally(() => this._claims.delete(sid))
      this._claims.set(sid, claim)
    }
    return claim
  }

  private async _claim(sid: string, info: SessionFields): Promise<boolean> {
    if (info.owner && info.owner != this.store.node && (await this._isAlive(info.owner))) return false
    await this.store.lease.owns(sid)
    const took = await this.store.claim(sid, info.owner == this.store.node)
    if (took.status != 'ok' || this.owned.has(sid)) return this.owned.has(sid)
    const headers = info.headers ? JSON.parse(info.headers) : {}
    const sending = { sent: +info.sent || 0, acked: +info.acked || 0, bytes: +info.sentBytes || 0 }
    let s!: OwnedSession
    const app = new ServerSession(
      sid,
      info.address,
      headers,
      info.origin,
      info.reliable == '1',
      (app) => (s = new OwnedSession(app, took.fence, took.delivered, took.received, this._ownerHost, sending)),
      took.takenOver,
    )
    app.data = info.data ? JSON.parse(info.data) : undefined
    s._logged = info.positions == '1'
    if (+info.heartbeat) s._hb = +info.heartbeat
    const rooms = (await this.store.link.command(['SMEMBERS', this.store.keys(sid)[3]])) as Buffer[]
    for (const r of rooms || []) if (String(r) != ALL) s._rooms.add(String(r))
    // Held by a link, or expiring since its client left: the upkeep looks at it on its next tick.
    s._lookAt = 0
    this._adopt(s)
    this._host.log('debug', 'session taken over', sid)
    if (took.takenOver) {
      s._confirm()
      void s._pull()
    }
    return true
  }

  get(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    serveGet(this, this._host, req, res, ask)
  }

  post(req: IncomingMessage, res: ServerResponse, ask: Ask): void {
    servePost(this, this._host, req, res, ask)
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ask: Ask, done: () => void): void {
    serveUpgrade(this, this._host, this._wss, { req, socket, head, ask, done })
  }

  /**
   * Put `d` into the log of every member of `room`, on every node; resolves to how many took it.
   * Every member has it after what this node sent before to the room, or to the member itself if
   * owned here, and before what it sends to either after (docs/scaling.md, "Order"): what it must
   * follow is taken now, before any await.
   */
  publish(room: string, d: string | Buffer, key?: string): Promise<number> {
    // Joins and leaves made here just before must be in Redis before the members are read.
    const after: Promise<unknown>[] = [this.ready, ...this._pending]
    for (const s of this.owned.values()) {
      if (!(room == ALL ? s._heard : s._rooms.has(room))) continue
      s._flush()
      const writing = s._writing()
      if (writing) after.push(writing)
    }
    return this._publisher.publish(room, d, Promise.all(after), key)
  }

  /**
   * Put `d` into the log of every confirmed session, on every node. Returns at once how many there
   * are as this node last knew (counted in Redis at most a tick ago, plus those confirmed since).
   */
  broadcast(d: string | Buffer): number {
    if (this._publisher.isFull) throw this._publisher.full()
    const n = this._everyone
    this.publish(ALL, d).then(
      (k) => (this._everyone = k + this._joining),
      (e) => this._host.oops(e),
    )
    return n
  }

  /**
   * Stop serving: sessions this node owns are let go (the next request for one, on any node,
   * takes it over at once) and links dropped without a close frame: clients resume elsewhere.
   */
  async close(): Promise<void> {
    if (this._closed) return
    this._closed = true
    this._upkeep.stop()
    for (const s of this.served.values()) s._drop()
    this.served.clear()
    try {
      await this.ready
      const link = this.store.link
      // Their links went: each expires sessionTtl from now, unless its client resumes elsewhere.
      // Within a lease: a Redis that is gone must not hold the stop (a node that just died leaves
      // the same to the others' sweep and to the keys' lifetimes).
      const released = (async () => {
        await this.store.holds.release()
        await Promise.all([...this.owned.values()].map((s) => s._release()))
      })()
      if (!(await this._within(released)) || !(await this._within(link.quit()))) {
        this._host.log('warn', 'cluster: Redis did not answer while this node stopped: its connections are dropped')
        link.destroy?.()
      }
    } catch (e) {
      this._host.log('warn', 'cluster: closing:', e)
    }
  }

  /** Whether `p` settled (either way: a failure is logged) within `nodeLease` (o.clock). */
  private _within(p: Promise<unknown>): Promise<boolean> {
    const clock = this._host.o.clock
    let timer: unknown
    const late = new Promise<false>((res) => (timer = clock.setTimeout(() => res(false), this.c.nodeLease)))
    const settled = p.then(
      () => true,
      (e) => {
        this._host.log('warn', 'cluster: closing:', e)
        return true
      },
    )
    return Promise.race([settled, late]).finally(() => clock.clearTimeout(timer))
  }
}

/** The rooms of a session owned here, the broadcast room with them once its client spoke. */
function roomsOf(s: OwnedSession): string[] {
  return s._heard ? [...s._rooms, ALL] : [...s._rooms]
}

/** `p` is in `set` until it settles. */
function tracked(set: Set<Promise<unknown>>, p: Promise<unknown>): void {
  set.add(p)
  p.finally(() => set.delete(p))
}

function endOf(info: SessionFields | null): { status: 'ended'; end: string } | { status: 'gone' } {
  return info && info.ended ? { status: 'ended', end: info.ended } : { status: 'gone' }
}
