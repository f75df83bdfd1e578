// A cluster node's upkeep, every `nodeLease` / 3: its lease (a node that lost it is fenced and joins
// again as a new node), the sessions it holds a link of (holds.ts), the sweep that takes over what
// nodes whose lease lapsed owned and lets go of what they held, pings on quiet links, the end of
// sessions no client spoke on or that expired, and a re-read of what hints may have missed.
import { Code, FrameType } from '../../protocol/frames'
import { silent } from '../liveness'
import type { ClusterNode } from './node'
import type { Served } from './served'

/** The room every confirmed session is in: `broadcast()` sends to it. Not a name an app can pass. */
export const ALL = '\u0000all'

/** A session owned here is looked at in Redis this many times per `holdTtl` at least (an `x` hint lost). */
const LOOKS_PER_HOLD = 3

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
      const linked: string[] = []
      for (const s of n.served.values()) {
        this._watch(s, now)
        if (!s.closed && Object.keys(s._links).length) linked.push(s.id)
      }
      // Right after the lease was renewed: what a node holds is in its set before its lease can lapse.
      n.store.holds.sync(linked, now).catch((e) => n._host.log('warn', 'cluster: holding sessions failed:', e))
      this._renew(now)
      await this._sweep()
      await this._unheard(now)
      n._everyone = (await n.store.rooms.count(ALL)) + n._joining
    } catch (e) {
      n._host.log('warn', 'cluster: lease renewal or sweep failed:', e)
      if (!n.store.lease.leaseHeld()) this.lapsed()
    }
  }

  /**
   * Let go of what nodes whose lease lapsed held (their links went with them: a session no live
   * node holds expires `sessionTtl` from now, unless its client comes back), and take over what
   * they owned, whether or not a request comes for it: every session has a live owner within
   * `nodeLease` and a tick, and what its client sent is handed.
   */
  private async _sweep(): Promise<void> {
    const n = this._node
    const { owned, held } = await n.store.lease.orphans(SWEEP_MAX)
    const ttl = n._host.o.sessionTtl
    for (const [node, sids] of byNode(held)) {
      if (!n.store.lease.leaseHeld()) return
      await n.store.holds.letGo(
        node,
        sids.map((sid) => [sid, ttl]),
      )
    }
    for (const [node, sid] of owned) {
      if (!n.store.lease.leaseHeld()) return
      const info = await n.store.session(sid)
      if (!info || info.ended || info.owner != node || (await n._own(sid, info)))
        await n.store.lease.disowned(node, sid)
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
      if (info && info.confirmed == '1') s._confirm()
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

  /** Pings on quiet links; a WebSocket silent past the heartbeat timeout ends. */
  private _watch(s: Served, now: number): void {
    const n = this._node
    const ws = s._links.websocket
    // A WebSocket's client speaks on it (its heartbeats included); silence past the timeout is a
    // dead peer. Other links' clients speak in POSTs, maybe to other nodes: judged by pings only.
    if (ws && silent(now, s._lastIn, s._hb, n._host.o.heartbeatTimeout)) {
      n._host.log('debug', 'heartbeat timeout', s.id)
      ws.end(true)
    }
    const active = s._active && s._links[s._active]
    // A client silent for a heartbeat is pinged however much is written to it (as in one process).
    if (active && active.name != 'polling' && s._liveness.pingDue(now, s._lastIn, s._lastOut, s._hb)) {
      active.write([FrameType.Ping])
      s._lastOut = now
    }
  }

  /**
   * The keys of sessions held here that are due for their safety renewal (every holdTtl / 3), and
   * the sessions owned here that may have expired (as their keys or an `x` hint said) or were not
   * looked at for holdTtl / 3: in batches, together.
   */
  private _renew(now: number): void {
    const n = this._node
    const due = n.store.holds.due(now)
    const renewing = new Set(due)
    const look = new Set<string>()
    for (const s of n.owned.values()) {
      if (s._lookAt > now) continue
      s._lookAt = now + n.store.o.holdTtl / LOOKS_PER_HOLD
      // Held here: this node lets go of it (and hears of that with an `x` hint like any owner).
      if (!renewing.has(s.id) && !n.store.holds.has(s.id)) look.add(s.id)
    }
    if (due.length || look.size) void this._touch([...due, ...look], look)
  }

  /**
   * Renew the keys of sessions held here (or look at those in `look`), in batches, and read again
   * what Redis has that this node has not written or handed (a hint it missed), or learn of a
   * session that ended or expired meanwhile (its owner here ends it: nothing else would tell it),
   * or that no node holds any more (looked at again once its keys would have expired).
   */
  private async _touch(sids: string[], look: ReadonlySet<string>): Promise<void> {
    const n = this._node
    try {
      const found = await n.store.touch(sids, look)
      const now = n._host.o.clock.now()
      sids.forEach((sid, i) => {
        const t = found[i]
        const served = n.served.get(sid)
        if (served && (!t || (served._active && !served._has(t.sent)))) void served.pump()
        const owned = n.owned.get(sid)
        if (!owned) return
        if (!t || owned._behind(t.received)) void owned._pull()
        else if (!t.held) owned._expires(t.left, now)
      })
    } catch (e) {
      // Redis away: tried again on the next tick.
      n.store.holds.retry(sids)
      for (const sid of sids) {
        const owned = n.owned.get(sid)
        if (owned) owned._lookAt = 0
      }
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
      // After a reconnect an `r` hint (a join elsewhere) may be lost too: the rooms joined are read again.
      if (all || s._rooms._unchanged) void s._rooms._changed()
      else if (s._rooms._unread) void s._rooms._pump()
    }
    for (const s of n.owned.values()) if (all || s._unread) void s._pull()
    n.feeds.reconcile().catch((e) => n._host.log('warn', 'cluster: reading rooms failed:', e))
  }

  /** This node's lease lapsed: another may own its sessions now. Drop them all, write nothing. */
  private _fenced(): void {
    const n = this._node
    n._host.log('warn', 'cluster: this node lost its lease; its sessions and links are dropped')
    n.store.holds.clear()
    for (const s of [...n.owned.values()]) s._fenced()
    for (const s of [...n.served.values()]) s._drop()
    n.served.clear()
  }
}

/** `pairs` of node and session, grouped by node. */
function byNode(pairs: Array<[node: string, sid: string]>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [node, sid] of pairs) {
    const some = out.get(node)
    if (some) some.push(sid)
    else out.set(node, [sid])
  }
  return out
}
