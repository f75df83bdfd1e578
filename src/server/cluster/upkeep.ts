// A cluster node's upkeep, every `nodeLease` / 3: its lease (a node that lost it is fenced and joins
// again as a new node), the sweep that takes over what nodes whose lease lapsed owned, pings on
// quiet links, the end of sessions no client spoke on, and a re-read of what hints may have missed.
import { Code, FrameType } from '../../protocol/frames'
import type { ClusterNode } from './node'
import type { Served } from './served'

/** The room every confirmed session is in: `broadcast()` sends to it. Not a name an app can pass. */
export const ALL = '\u0000all'

/** A session with a link here has its keys renewed this many times per `sessionTtl`. */
const TOUCHES_PER_TTL = 3

/** A session the upkeep renews (served here) or looks at (owned here, its links elsewhere). */
interface Touchable {
  readonly id: string
  /** When the upkeep last touched it (0: not yet; the next tick does). */
  _touchedAt: number
}

/** Orphaned sessions a node takes over per tick, at most. */
const SWEEP_MAX = 200

/** @internal */
export class Upkeep {
  /** The node is joining again as a new node, its lease having lapsed. */
  private _rejoin?: Promise<void>
  private _timer?: unknown
  private _ticks = 0

  constructor(private readonly _node: ClusterNode) {}

  start(period: number): void {
    const clock = this._node._host.o.clock
    this._timer = clock.setInterval(() => this.tick(), period)
    clock.unref(this._timer)
  }

  stop(): void {
    this._node._host.o.clock.clearInterval(this._timer)
  }

  /**
   * Whether this node still holds its lease by its own clock; if not, it is fenced now (an owner
   * asks before it hands the app anything or writes anything).
   */
  held(): boolean {
    if (this._node.store.lease.leaseHeld() && !this._rejoin) return true
    this.lapsed()
    return false
  }

  /**
   * Renew the lease (a node that lost it is fenced: it forgets everything and joins again as a
   * new node); take over the sessions of nodes whose lease lapsed; then what hints may have missed.
   */
  async tick(): Promise<void> {
    const n = this._node
    if (this._rejoin) return
    try {
      // By its own clock first: a node frozen past its lease does not renew what may be taken.
      if (!n.store.lease.leaseHeld() || !(await n.store.lease.heartbeat())) return this.lapsed()
      // Every nodeLease: what failed to be read, and the rooms past what was published here.
      if (++this._ticks % 3 == 0) this.reconcile(false)
      const now = n._host.o.clock.now()
      const due: Touchable[] = []
      for (const s of n.served.values()) if (this._watch(s, now)) due.push(s)
      // Sessions owned here with no link here: only looked at (the node with their link renews them).
      const look = new Set<string>()
      for (const s of n.owned.values())
        if (!n.served.has(s.id) && this._due(s, now)) {
          due.push(s)
          look.add(s.id)
        }
      if (due.length) void this._touch(due, look)
      await this._sweep()
      await this._unheard(now)
      n._everyone = (await n.store.rooms.count(ALL)) + n._joining
    } catch (e) {
      n._host.log('warn', 'cluster: lease renewal or sweep failed:', e)
      if (!n.store.lease.leaseHeld()) this.lapsed()
    }
  }

  /**
   * Take over what nodes whose lease lapsed owned, whether or not a request comes for it: every
   * session has a live owner within `nodeLease` and a tick, and what its client sent is handed.
   */
  private async _sweep(): Promise<void> {
    const n = this._node
    for (const [node, sid] of await n.store.lease.orphans(SWEEP_MAX)) {
      if (!n.store.lease.leaseHeld()) return
      const info = await n.store.session(sid)
      if (!info || info.end || info.own != node || (await n._own(sid, info))) await n.store.lease.disowned(node, sid)
    }
  }

  /**
   * Sessions owned here whose client never spoke and has no link here past `requestTimeout` (a
   * race's loser, a client gone right after the hello) end, as in one process; one whose client
   * spoke on another node (its hint lost) is confirmed instead.
   */
  private async _unheard(now: number): Promise<void> {
    const n = this._node
    for (const s of [...n.owned.values()]) {
      if (s._heard || s.closed || now - s._heardAt <= n._host.o.requestTimeout) continue
      const here = n.served.get(s.id)
      if (here && Object.keys(here._links).length) continue
      const info = await n.store.session(s.id)
      if (info && info.cf == '1') s._confirm()
      else s._end(Code.SESSION_EXPIRED, 'session unknown or expired')
    }
  }

  /** This node's lease lapsed (found on a tick, or before handing or writing): fenced, then a new node. */
  lapsed(): void {
    const n = this._node
    if (this._rejoin || n._closed) return
    this._fenced()
    const again = (this._rejoin = n.store.lease.rejoin(() => n.store.listen((h) => n._hint(h))))
    n.ready = again
    again.then(
      () => n._host.log('info', 'cluster: joined again as node', n.store.node),
      (e) => n._host.log('warn', 'cluster: joining again failed (tried on the next tick):', e),
    )
    again.catch(() => {}).finally(() => (this._rejoin = undefined))
  }

  /** Pings on quiet links; whether the session's keys are due for renewal (it is in use here). */
  private _watch(s: Served, now: number): boolean {
    const n = this._node
    const ws = s._links.websocket
    // A WebSocket's client speaks on it (its heartbeats included); silence past the timeout is a
    // dead peer. Other links' clients speak in POSTs, maybe to other nodes: judged by pings only.
    if (ws && now - s._lastIn > s._hb + n._host.o.heartbeatTimeout) {
      n._host.log('debug', 'heartbeat timeout', s.id)
      ws.end(true)
    }
    const active = s._active && s._links[s._active]
    // A client silent for a heartbeat is pinged however much is written to it (as in one process).
    const quiet = active && s._liveness.quiet(now, s._lastIn, s._hb)
    if (active && active.name != 'polling' && (now - s._lastOut >= s._hb || quiet)) {
      active.write([FrameType.Ping])
      s._lastOut = now
    }
    return this._due(s, now)
  }

  /**
   * Whether session `s` is due to be touched: every sessionTtl / 3 (docs/cluster-design.md "TTL"),
   * not every third tick. Every nodeLease (5 s) it was a steady load on Redis that grew with the
   * sessions (bench/README.md "Rooms against socket.io").
   */
  private _due(s: Touchable, now: number): boolean {
    if (now - s._touchedAt < this._node._host.o.sessionTtl / TOUCHES_PER_TTL) return false
    s._touchedAt = now
    return true
  }

  /**
   * Renew the keys of sessions in use here (or look at those in `look`), in batches, and read again
   * what Redis has that this node has not written or handed (a hint it missed), or learn of a
   * session that ended or expired meanwhile (its owner here ends it: nothing else would tell it).
   */
  private async _touch(due: Touchable[], look: ReadonlySet<string>): Promise<void> {
    const n = this._node
    try {
      const found = await n.store.touch(
        due.map((s) => s.id),
        look,
      )
      due.forEach((s, i) => {
        const t = found[i]
        const served = n.served.get(s.id)
        if (served && (!t || (served._active && !served._has(t.sent)))) void served.pump()
        const owned = n.owned.get(s.id)
        if (owned && (!t || owned._behind(t.received))) void owned._pull()
      })
    } catch (e) {
      // Redis away: tried again on the next tick (a third of sessionTtl leaves time for several).
      for (const s of due) s._touchedAt = 0
      n._host.log('warn', 'cluster: renewing sessions failed:', e)
    }
  }

  /**
   * What hints may have missed: the rooms followed here (one read per room), and every session
   * served or owned here (`all`: after the subscriber reconnected), or only those whose last read
   * failed (Redis away). Reading every session's log and inbox on every pass was most of Redis's
   * work for an idle room of thousands (bench/README.md "Rooms against socket.io").
   */
  reconcile(all = true): void {
    const n = this._node
    for (const s of n.served.values()) {
      if (all || s._unread) void s.pump()
      if (s._rooms._unread) void s._rooms._pump()
    }
    for (const s of n.owned.values()) if (all || s._unread) void s._pull()
    n.feeds.reconcile().catch((e) => n._host.log('warn', 'cluster: reading rooms failed:', e))
  }

  /** This node's lease lapsed: another may own its sessions now. Drop them all, write nothing. */
  private _fenced(): void {
    const n = this._node
    n._host.log('warn', 'cluster: this node lost its lease; its sessions and links are dropped')
    for (const s of [...n.owned.values()]) s._fenced()
    for (const s of [...n.served.values()]) s._drop()
    n.served.clear()
  }
}
