import { T, type Hello } from '../protocol/frames'
import { backoff } from './backoff'
import type { LifelineOptions, Storage } from './options'
import { Session, type Conn } from './session'
import type { TransportClass, TransportName } from './transports/transport'

/** What is remembered per endpoint (in `storage`, under `lifeline:<url>`). */
interface Memo {
  /** Transport that last won, and until when to start on it. */
  t?: TransportName
  x?: number
  /** Transports demoted after repeated early deaths, with the time the demotion ends. */
  d?: { [name: string]: number }
  /** Heartbeat interval learned from a proxy that cuts idle connections. */
  hb?: number
}

/**
 * Which transport to try: races candidates (the next starts when the current has not proven
 * itself within `raceDelay` plus the round trip), keeps the first to prove both directions,
 * remembers what worked per endpoint, and re-tests a better transport in the background.
 * @internal
 */
export abstract class Select extends Session {
  /** @internal */ _classes: TransportClass[]
  private _queue: TransportClass[] = []
  private _raceT: unknown
  private _upT: unknown
  private _upDelay: number
  private _hb: number
  private _early: { [name: string]: number } = {}
  private _why = 'preferred'
  private _store: Storage | null
  private _memo?: Memo
  /** Called when a connection proves itself (used by `diagnose`). @internal */
  _proof?: () => void

  constructor(url: string, options: LifelineOptions, available: TransportClass[]) {
    super(url, options)
    const o = this._o
    this._classes = (o.transports || available).map((x) => {
      const C = typeof x == 'string' ? available.filter((a) => a.transportName == x)[0] : x
      if (!C) this._throw('LL_ERR_INVALID_OPTION', 'unknown transport ' + JSON.stringify(x) + '; use ' + available.map((a) => a.transportName).join(', '))
      return C
    })
    this._classes = this._classes.filter((C) => C.isSupported(this._ctx))
    if (!this._classes.length) this._throw('LL_ERR_NO_TRANSPORT', 'none of the transports is supported here')
    let store: Storage | null = null
    try {
      store = o.storage !== undefined ? o.storage : typeof localStorage != 'undefined' ? localStorage : null
    } catch (e) {
      // Sandboxed frames and some privacy modes throw on any touch of localStorage.
    }
    this._store = o.rememberFor ? store : null
    this._upDelay = o.upgradeDelay
    const m = this._recall()
    this._hb = Math.min(o.heartbeatInterval, m.hb || Infinity)
  }

  /** @internal */
  _hbAsk(): number {
    return this._hb
  }

  /** What is known about this endpoint: kept in memory, and in `storage` for the next page. */
  private _recall(): Memo {
    if (!this._memo) {
      try {
        this._memo = JSON.parse((this._store && this._store.getItem('lifeline:' + this._url)) || '{}') as Memo
      } catch (e) {
        this._memo = {}
      }
    }
    return this._memo.x! > this._o.clock.now() ? this._memo : (this._memo = {})
  }

  private _remember(change: Memo): void {
    const m = (this._memo = Object.assign(this._recall(), change, { x: this._o.clock.now() + this._o.rememberFor }))
    try {
      if (this._store) this._store.setItem('lifeline:' + this._url, JSON.stringify(m))
    } catch (e) {
      // Full or forbidden storage only costs the next page the memory of what worked.
    }
  }

  /** Candidates in order: the remembered winner first, demoted ones last. */
  private _order(): TransportClass[] {
    const m = this._recall()
    const now = this._o.clock.now()
    const rank = (C: TransportClass) =>
      (m.d && m.d[C.transportName] > now ? 20 : 0) + (C.transportName == m.t ? -10 : 0) + this._classes.indexOf(C)
    const list = this._classes.slice().sort((a, b) => rank(a) - rank(b))
    this._why = list[0] != this._classes[0] ? 'remembered' : 'preferred'
    return list
  }

  /** Start a connection attempt: get a token if one is needed, then race. @internal */
  _connect(): void {
    this._o.clock.clearTimeout(this._retryT)
    const tok = this._o.token
    Promise.resolve(typeof tok == 'function' ? tok() : tok).then(
      (v) => {
        this._token = v
        if (this.state != 'closing' && this.state != 'closed' && !this._act) {
          this._queue = this._order()
          this._launchNext()
        }
      },
      (e) => {
        this._error('LL_ERR_INVALID_OPTION', 'token() failed: ' + e)
        this._retry('token-failed')
      },
    )
  }

  private _launchNext(): void {
    const o = this._o
    o.clock.clearTimeout(this._raceT)
    const C = this._queue.shift()
    if (!C) return
    // Why the one before did not win yet, should this one win.
    const prev = this._conns[this._conns.length - 1]
    // A stream with nothing to show while the next transport is needed is being held by
    // something that buffers (proxies may hold even the response headers).
    if (prev) this._why = prev.t.name + (prev.t.name == 'stream' && prev.s < 2 ? '-buffered' : prev.s == 0 ? '-hung' : '-silent')
    this._launch(C)
    if (this._queue.length) this._raceT = o.clock.setTimeout(() => this._launchNext(), o.raceDelay + this.rtt)
  }

  private _launch(C: TransportClass): void {
    const o = this._o
    const t = new C(this._ctx)
    const c: Conn = { t, sid: (t.sid = this.sessionId || undefined), s: 0, seq: 0, at: o.clock.now(), pingAt: 0, up: 0 }
    c.to = o.clock.setTimeout(() => this._fail(c, t.name + (c.s ? '-silent' : '-hung')), o.connectTimeout)
    t.on('open', () => (c.s = c.s || 1))
    t.on('message', (f) => this._frame(c, f))
    t.on('close', (why, err) => {
      if (this._conns.indexOf(c) < 0) return
      if (why == 'protocol') this._error('LL_ERR_PROTOCOL', 'malformed data from server: ' + (err && err.message))
      this._drop(c)
      this._lost(c, t.name + '-' + (c.s ? why : 'refused'), true)
    })
    this._conns.push(c)
    this._log('try', t.name, c.sid ? 'resume' : 'new session')
    t.open()
  }

  /** @internal */
  _hello(c: Conn, h: Hello): void {
    // A stream reopened after the server recycled it says hello again: same session, carry on.
    if (c.h) return h.sid == c.h.sid ? this._acked(h.ack, c) : this._bad(c, 'hello for another session')
    // A candidate opened for another session than the current one: say goodbye so the server
    // does not keep a session nobody will use.
    if (c.sid != (this.sessionId || undefined) || (c.sid && h.sid != c.sid)) return this._drop(c, true)
    c.h = h
    c.s = 2
    c.sid = c.t.sid = h.sid
    if (!this.sessionId) {
      this.sessionId = h.sid
      if (this._had) {
        const unacked = this._takeUnacked(true)
        this._setState('connecting', 'reset')
        this._emit('reset', { reason: this._why, unacked })
      }
    }
    c.pingAt = this._o.clock.now()
    c.t.send([T.Ping], this._next())
    this._acked(h.ack, c)
    // A hello acknowledging what was never sent has dropped its connection (regression test in
    // test/unit/session.property.test.ts).
    if (!this._act && this._conns.indexOf(c) >= 0) this._activate(c, this._why)
  }

  /** @internal */
  _pong(c: Conn): void {
    const o = this._o
    if (c.s != 2 || this._conns.indexOf(c) < 0) return
    c.s = 3
    c.up = o.clock.now()
    this.rtt = c.up - c.pingAt
    o.clock.clearTimeout(c.to)
    o.clock.clearTimeout(this._raceT)
    this._queue = []
    const rank = (x: Conn) => this._classes.indexOf(x.t.constructor as TransportClass)
    // Losers go, except a better transport of this session still on its way: it may be upgraded to.
    for (const x of this._conns.slice()) if (x != c && x != this._act && (!x.sid || x.sid != this.sessionId || rank(x) > rank(c))) this._drop(x)
    if (c != this._act) this._activate(c, this._act && this._act.s == 3 ? 'upgrade' : this._why)
    this._why = 'preferred'
    this._remember({ t: c.t.name })
    this._log('proven', c.t.name, 'rtt', this.rtt)
    if (this._proof) this._proof()
    this._upgradeLater()
  }

  /** Re-test the best transport in the background while on a worse one. */
  private _upgradeLater(): void {
    const o = this._o
    const best = this._classes[0]
    o.clock.clearTimeout(this._upT)
    if (!this._act || this._act.t.constructor == best) return
    this._upT = o.clock.setTimeout(() => {
      if (this._act && this._conns.length == 1) this._launch(best)
    }, this._upDelay)
  }

  /** @internal */
  _lost(c: Conn, reason: string, byNetwork?: boolean): void {
    const o = this._o
    const now = o.clock.now()
    const name = c.t.name
    const early = c.s == 3 && now - c.up < 2 * o.minUptime
    const why = c.s == 3 && byNetwork ? name + (early ? '-early-close' : '-dropped') : reason
    this._log('lost', name, reason)
    if (c.s == 3) {
      // A proven connection cut after sitting idle for less than the heartbeat interval points
      // at a proxy's idle timeout: ask for heartbeats twice as often as that from now on.
      const idle = now - c.t._last
      if (idle > 2000 && idle < this._hb) this._remember({ hb: (this._hb = Math.max(1000, idle >> 1)) })
      if (now - c.up >= o.minUptime) this._attempts = 0
      if (early && (this._early[name] = (this._early[name] || 0) + 1) >= 2) {
        this._remember({ d: Object.assign({}, this._recall().d, { [name]: now + o.rememberFor }) })
        this._upDelay = Math.min(this._upDelay * 2, 300000)
      }
    }
    if (c == this._act) {
      this._act = undefined
      for (const x of this._conns.slice()) this._drop(x)
      this._retry(why)
    } else if (!this._act) {
      this._why = why
      if (this._queue.length) this._launchNext()
      else if (!this._conns.length) this._retry(why)
    } else {
      this._upDelay = Math.min(this._upDelay * 2, 300000)
      this._upgradeLater()
    }
  }

  /** Schedule the next attempt, or give up after `maxRetries`. @internal */
  _retry(cause: string): void {
    const o = this._o
    if (this.state == 'closing' || this.state == 'closed') return
    o.clock.clearTimeout(this._raceT)
    this._queue = []
    if (this.state != 'connecting') this._setState('reconnecting', cause)
    if (this._attempts >= o.maxRetries) return this._finish(1006, cause, false)
    const delay = this._attempts ? backoff(this._attempts - 1, o) : 0
    this._attempts++
    this._emit('reconnecting', { attempt: this._attempts, delay, cause })
    o.clock.clearTimeout(this._retryT)
    this._retryT = o.clock.setTimeout(() => this._connect(), delay)
  }

  /** Retry now instead of waiting out the backoff (network back, page visible again). @internal */
  _wake(): void {
    if (this.state == 'reconnecting' || (this.state == 'connecting' && this._attempts)) {
      if (!this._conns.length) this._connect()
    } else if (this.state == 'open') this._probe()
  }

  /** @internal */
  _stopAll(): void {
    for (const t of [this._raceT, this._upT]) this._o.clock.clearTimeout(t)
  }
}
