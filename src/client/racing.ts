import { Stage, type Connection } from './connection'
import type { Storage } from './options'
import type { Candidates, Selector, SelectorFactory } from './select'
import type { TransportClass, TransportName } from './transports/transport'

/** Upgrade tests back off to at most this, ms. */
const MAX_UPGRADE_DELAY = 300000

/**
 * The last candidate of an attempt, with none left to start, gets a twin if it has not proven
 * itself within `connectTimeout` divided by this, and so on while none proves itself (at most two
 * on their way, the older given up for the next): an opening request stalled in the network costs
 * a third of `connectTimeout`, not all of it, however many stall in a row.
 */
const TWIN_AFTER = 3

/** At most this many connections of one attempt are on their way at once. */
const ON_THEIR_WAY = 2

/**
 * An attempt starts at most this many twins: one that never gets through (a proxy that buffers a
 * stream for good) still fails, within `connectTimeout` and two thirds of it, and the session
 * tries again or reports it (`diagnose`).
 */
const MAX_TWINS = 2

/** A proven connection cut after sitting idle for longer than this points at a proxy's idle timeout. */
const MIN_LEARNED_IDLE = 2000

/** What is remembered per endpoint (in `storage`, under `lifeline:<url>`). */
interface Memo {
  /** Transport that last won, and until when all of this is remembered. */
  t?: TransportName
  x?: number
  /** Transports demoted after repeated early deaths, with the time the demotion ends. */
  d?: { [name: string]: number }
  /** Heartbeat interval learned from a proxy that cuts idle connections. */
  hb?: number
}

/**
 * What worked for an endpoint, kept in memory and in `storage` (`localStorage` by default) for the
 * next page, for `rememberFor` ms.
 */
class Memory {
  private _memo?: Memo

  constructor(
    private readonly _key: string,
    private readonly _store: Storage | null | undefined,
    private readonly _session: Candidates,
  ) {}

  _recall(): Memo {
    if (!this._memo)
      try {
        this._memo = JSON.parse((this._store && this._store.getItem(this._key)) || '{}')
      } catch (e) {
        // Unreadable storage is no memory.
      }
    const memo = this._memo
    this._memo = memo && memo.x! > this._session._now() ? memo : {}
    return this._memo
  }

  _remember(change: Memo): void {
    const until = this._session._now() + this._session._options.rememberFor
    const memo = (this._memo = Object.assign(this._recall(), change, { x: until }))
    try {
      if (this._store) this._store.setItem(this._key, JSON.stringify(memo))
    } catch (e) {
      // Full or forbidden storage only costs the next page the memory of what worked.
    }
  }

  /** Whether `name` is demoted now. */
  _demoted(name: TransportName): boolean {
    const d = this._recall().d
    return !!d && d[name] > this._session._now()
  }

  _demote(name: TransportName, until: number): void {
    this._remember({ d: Object.assign({}, this._recall().d, { [name]: until }) })
  }
}

/**
 * The racing strategy (`LifelineRacing`, `Lifeline`): starts the next candidate when the current
 * has not proven itself within `raceDelay` plus the round trip, keeps the first to prove both
 * directions, remembers what worked per endpoint, learns a proxy's idle timeout, demotes a
 * transport that keeps dying early, and re-tests a better transport in the background to move the
 * session back to it.
 */
export const racing: SelectorFactory = (session) => new Racing(session)

class Racing implements Selector {
  private _memory: Memory
  private _raceTimer: unknown
  private _upgradeTimer: unknown
  private _healthyTimer: unknown
  /** Upgrade tests so far: which better transport the next one tries. */
  private _upgradeTries = 0
  private _upgradeDelay: number
  /** Heartbeat interval to ask for (learned from a proxy's idle timeout), ms. */
  private _interval: number
  /** Early deaths per transport in this page. */
  private _early: { [name: string]: number } = {}
  /** Twins started in this attempt. */
  private _twins = 0

  constructor(private readonly _session: Candidates) {
    const o = _session._options
    let store: Storage | null | undefined
    try {
      if (o.rememberFor)
        store = o.storage !== undefined ? o.storage : typeof localStorage != 'undefined' ? localStorage : null
    } catch (e) {
      // Sandboxed frames and some privacy modes throw on any touch of localStorage.
    }
    this._memory = new Memory('lifeline:' + _session._url, store, _session)
    this._upgradeDelay = o.upgradeDelay
    this._interval = Math.min(o.heartbeatInterval, this._memory._recall().hb || Infinity)
  }

  _heartbeat(): number {
    return this._interval
  }

  /** Candidates in order: the remembered winner first, demoted ones last. */
  _order(): TransportClass[] {
    const s = this._session
    const winner = this._memory._recall().t
    const rank = (C: TransportClass) => {
      const demoted = this._memory._demoted(C.transportName) ? 20 : 0
      return demoted - (C.transportName == winner ? 10 : 0) + s._classes.indexOf(C)
    }
    const list = s._classes.slice().sort((a, b) => rank(a) - rank(b))
    s._why = list[0] != s._classes[0] ? 'remembered' : 'preferred'
    // A new attempt.
    this._twins = 0
    return list
  }

  _launched(previous: Connection | undefined, C: TransportClass): void {
    const s = this._session
    this._session._clear(this._raceTimer)
    // Why the one before did not win yet, should this one win.
    if (previous) s._why = previous._stalled()
    if (s._queue.length) this._raceTimer = s._timer(() => s._launchNext(), s._options.raceDelay + s._rtt)
    else this._twin(C)
  }

  /**
   * `C`, the last candidate of this attempt, gets a twin should it hang (both may go on; the first
   * to prove itself wins), and the twin in turn. At most {@link ON_THEIR_WAY} are on their way at
   * once: the oldest is given up for the next. A WebSocket still opening is given up first:
   * browsers open one at a time per host (RFC 6455 §4.1), so the twin would wait behind it.
   */
  private _twin(C: TransportClass, left?: Connection): void {
    const s = this._session
    const o = s._options
    // The one left on its way when its twin failed is twinned once it has been on its way that
    // long, not that long after the failure (but not at once either: a run of fast failures
    // would spin).
    const wait = o.connectTimeout / TWIN_AFTER - (left ? s._now() - left._startedAt : 0)
    s._clear(this._raceTimer)
    if (this._twins >= MAX_TWINS) return
    this._raceTimer = s._timer(
      () => {
        this._twins++
        for (const x of s._conns.slice())
          if ((x._transport.isSocket && x._stage == Stage.Started) || s._conns.length >= ON_THEIR_WAY) {
            s._why = x._stalled()
            s._drop(x)
          }
        s._queue.push(C)
        s._launchNext()
      },
      Math.max(wait, o.minDelay),
    )
  }

  _proven(c: Connection): void {
    const s = this._session
    const rank = (x: Connection) => s._classes.indexOf(x._transport.constructor as TransportClass)
    s._clear(this._raceTimer)
    // Losers go (a twin of the winner too), except a better transport of this session still on its
    // way: it may be upgraded to.
    // One that said hello and never answered the proof ping is not on its way: it is broken (a
    // path that drops client→server bytes). (A proven connection has had its hello, so sessionId is
    // set and a loser without one differs.)
    const loser = (x: Connection) => x._sid != s._sessionId || rank(x) >= rank(c) || x._stage == Stage.Greeted
    for (const x of s._conns.slice()) if (x != c && loser(x)) s._drop(x)
    this._memory._remember({ t: c._name })
    this._upgradeLater()
    // One that stays up well past an early death is healthy again: lift its demotion.
    s._clear(this._healthyTimer)
    this._healthyTimer = s._timer(() => {
      if (s._active == c && this._memory._demoted(c._name)) this._memory._demote(c._name, 0)
    }, 2 * s._options.minUptime)
  }

  /**
   * Re-test a better transport in the background while on a worse one: the best first, and after
   * each failure the next better one in turn (so polling can move up to a working stream while
   * WebSocket stays blocked).
   */
  private _upgradeLater(): void {
    const s = this._session
    const act = s._active
    const better = act ? s._classes.slice(0, s._classes.indexOf(act._transport.constructor as TransportClass)) : []
    s._clear(this._upgradeTimer)
    if (!better.length) return
    this._upgradeTimer = s._timer(() => {
      if (s._active && s._conns.length == 1) s._launch(better[this._upgradeTries++ % better.length])
    }, this._upgradeDelay)
  }

  _lost(c: Connection, reason: string, byNetwork?: boolean): { reason: string; byNetwork?: boolean } | null {
    const s = this._session
    const now = s._now()
    const o = s._options
    const proven = c._stage == Stage.Proven
    const early = proven && now - c._provenAt < 2 * o.minUptime
    if (proven) {
      // A proven connection cut after sitting idle for less than the heartbeat interval points at
      // a proxy's idle timeout: ask for heartbeats twice as often as that from now on.
      const idle = now - c._transport._last
      if (idle > MIN_LEARNED_IDLE && idle < this._interval) {
        this._interval = Math.max(1000, idle >> 1)
        this._memory._remember({ hb: this._interval })
      }
      this._early[c._name] = (this._early[c._name] || 0) + (early ? 1 : 0)
      if (early && this._early[c._name] > 1) {
        this._memory._demote(c._name, now + o.rememberFor)
        this._upgradeDelay = Math.min(this._upgradeDelay * 2, MAX_UPGRADE_DELAY)
      }
    }
    if (s._active && c != s._active) {
      // A background upgrade test failed: try again later, less often.
      this._upgradeDelay = Math.min(this._upgradeDelay * 2, MAX_UPGRADE_DELAY)
      this._upgradeLater()
      return null
    }
    // One of two on their way failed: the other gets a twin in turn, should it hang too.
    const left = s._conns[0]
    if (!s._active && !s._queue.length && s._conns.length == 1 && left._stage < Stage.Proven)
      this._twin(left._transport.constructor as TransportClass, left)
    if (early && byNetwork) return { reason: c._name + '-early-close' }
    return { reason, byNetwork }
  }

  _retrying(): void {
    this._session._clear(this._raceTimer)
  }

  _stop(): void {
    const s = this._session
    s._clear(this._raceTimer)
    s._clear(this._upgradeTimer)
    s._clear(this._healthyTimer)
  }
}
