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

/** Orphaned sessions a node takes over per tick, at most. */
const SWEEP_MAX = 200

/** @internal */
export class Upkeep {
  /** The node is joining again as a new node, its lease having lapsed. */
  private _rejoin?: Promise<void>
  private _timer?: NodeJS.Timeout
  private _ticks = 0

  constructor(private readonly _node: ClusterNode) {}

  start(period: number): void {
    this._timer = setInterval(() => this.tick(), period)
    this._timer.unref()
  }

  stop(): void {
    clearInterval(this._timer)
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
      if (++this._ticks % 3 == 0) this.reconcile()
      const now = Date.now()
      for (const s of n.served.values()) this._watch(s, now)
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

  /** Pings on quiet links; links of sessions in use keep their keys alive. */
  private _watch(s: Served, now: number): void {
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
    // Every sessionTtl / 3 per session (docs/cluster-design.md "TTL"), not every third tick: a
    // renewal is two scripts' work per session (its keys, the census), and every nodeLease (5 s) it
    // was a steady load on Redis that grew with the sessions (bench/README.md "Rooms against socket.io").
    if (now - s._touchedAt >= n._host.o.sessionTtl / TOUCHES_PER_TTL) {
      s._touchedAt = now
      n.store.touch(s.id).catch(() => {})
    }
  }

  reconcile(): void {
    const n = this._node
    for (const s of n.served.values()) void s.pump()
    for (const s of n.owned.values()) void s._pull()
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
