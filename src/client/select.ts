import { LifelineCore } from './lifeline'
import type { LifelineOptions, Storage } from './options'
import type { Conn } from './session'
import type { TransportClass, TransportName } from './transports/transport'

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

/** One transport's result in a {@link LifelineRacing.diagnose} report. */
export interface DiagnoseResult {
  transport: TransportName
  ok: boolean
  /** ms from start until it proved both directions, or until it failed. */
  ms: number
  /** Round trip of the proof ping, ms (0 when it failed). */
  rtt: number
  /** `ok`, or why it failed (`websocket-refused`, `stream-buffered`, ...). */
  reason: string
}

/** What {@link LifelineRacing.diagnose} resolves to. */
export interface DiagnoseReport {
  url: string
  /** The first transport that worked, in order of preference, or null. */
  best: TransportName | null
  results: DiagnoseResult[]
}

/**
 * Lifeline with transport selection: races candidates (the next starts when the current has not
 * proven itself within `raceDelay` plus the round trip), keeps the first to prove both
 * directions, remembers what worked per endpoint, learns a proxy's idle timeout, demotes a
 * transport that keeps dying early, and re-tests a better transport in the background to move
 * the session back to it. Ships only the transports it is given; `Lifeline` is this with all.
 *
 * @example
 * new LifelineRacing('/rt', { transports: [WebSocketTransport, PollingTransport] })
 */
export class LifelineRacing extends LifelineCore {
  private _raceT: unknown
  private _upT: unknown
  private _okT: unknown
  private _upTry = 0
  private _upDelay: number
  private _hb: number
  private _early: { [name: string]: number } = {}
  private _store?: Storage | null
  private _memo?: Memo
  /** Called when a connection proves itself (used by `diagnose`). @internal */
  _proof?: () => void

  constructor(url: string, options: LifelineOptions = {}, available: TransportClass[] = []) {
    super(url, options, available)
    const o = this._o
    try {
      this._store = !o.rememberFor ? null : o.storage !== undefined ? o.storage : typeof localStorage != 'undefined' ? localStorage : null
    } catch (e) {
      // Sandboxed frames and some privacy modes throw on any touch of localStorage.
    }
    this._upDelay = o.upgradeDelay
    this._hb = Math.min(o.heartbeatInterval, this._recall().hb || Infinity)
  }

  /** @internal */
  override _hbAsk(): number {
    return this._hb
  }

  /** What is known about this endpoint: kept in memory, and in `storage` for the next page. */
  private _recall(): Memo {
    if (!this._memo)
      try {
        this._memo = JSON.parse((this._store && this._store.getItem('lifeline:' + this._url)) || '{}')
      } catch (e) {}
    return (this._memo = this._memo && this._memo.x! > this._now() ? this._memo : {})
  }

  private _remember(change: Memo): void {
    const m = (this._memo = Object.assign(this._recall(), change, { x: this._now() + this._o.rememberFor }))
    try {
      if (this._store) this._store.setItem('lifeline:' + this._url, JSON.stringify(m))
    } catch (e) {
      // Full or forbidden storage only costs the next page the memory of what worked.
    }
  }

  /** Candidates in order: the remembered winner first, demoted ones last. @internal */
  override _order(): TransportClass[] {
    const m = this._recall()
    const rank = (C: TransportClass) => (m.d && m.d[C.transportName] > this._now() ? 20 : 0) - (C.transportName == m.t ? 10 : 0) + this._classes.indexOf(C)
    const list = this._classes.slice().sort((a, b) => rank(a) - rank(b))
    this._why = list[0] != this._classes[0] ? 'remembered' : 'preferred'
    return list
  }

  /** @internal */
  override _launchNext(): void {
    const prev = this._conns[this._conns.length - 1]
    this._clear(this._raceT)
    // Why the one before did not win yet, should this one win.
    if (prev) this._why = this._stalled(prev)
    super._launchNext()
    if (this._queue.length) this._raceT = this._set(() => this._launchNext(), this._o.raceDelay + this.rtt)
  }

  /** @internal */
  override _proven(c: Conn): void {
    const act = this._act
    const rank = (x: Conn) => this._classes.indexOf(x.t.constructor as TransportClass)
    this._clear(this._raceT)
    // Losers go, except a better transport of this session still on its way: it may be upgraded to.
    // (A proven connection has had its hello, so sessionId is set and a loser without one differs.)
    for (const x of this._conns.slice()) if (x != c && x != act && (x.sid != this.sessionId || rank(x) > rank(c))) this._drop(x)
    if (act && act != c && act.s == 3) this._why = 'upgrade'
    super._proven(c)
    this._remember({ t: c.t.name })
    this._log('proven', c.t.name, this.rtt)
    if (this._proof) this._proof()
    this._upgradeLater()
    // One that stays up well past an early death is healthy again: lift its demotion.
    this._clear(this._okT)
    this._okT = this._set(() => {
      const d = this._recall().d
      if (this._act == c && d && d[c.t.name]) this._remember({ d: Object.assign({}, d, { [c.t.name]: 0 }) })
    }, 2 * this._o.minUptime)
  }

  /**
   * Re-test a better transport in the background while on a worse one: the best first, and
   * after each failure the next better one in turn (so polling can move up to a working stream
   * while WebSocket stays blocked).
   */
  private _upgradeLater(): void {
    const act = this._act
    const better = act ? this._classes.slice(0, this._classes.indexOf(act.t.constructor as TransportClass)) : []
    this._clear(this._upT)
    if (better.length)
      this._upT = this._set(() => {
        if (this._act && this._conns.length == 1) {
          this._queue = [better[this._upTry++ % better.length]]
          super._launchNext()
        }
      }, this._upDelay)
  }

  /** @internal */
  override _lost(c: Conn, reason: string, byNetwork?: boolean): void {
    const now = this._now()
    const name = c.t.name
    const early = c.s == 3 && now - c.up < 2 * this._o.minUptime
    if (c.s == 3) {
      // A proven connection cut after sitting idle for less than the heartbeat interval points
      // at a proxy's idle timeout: ask for heartbeats twice as often as that from now on.
      const idle = now - c.t._last
      if (idle > 2000 && idle < this._hb) this._remember({ hb: (this._hb = Math.max(1000, idle >> 1)) })
      if (early && (this._early[name] = (this._early[name] || 0) + 1) > 1) {
        this._remember({ d: Object.assign({}, this._recall().d, { [name]: now + this._o.rememberFor }) })
        this._upDelay = Math.min(this._upDelay * 2, 300000)
      }
    }
    if (this._act && c != this._act) {
      // A background upgrade test failed: try again later, less often.
      this._upDelay = Math.min(this._upDelay * 2, 300000)
      return this._upgradeLater()
    }
    super._lost(c, early && byNetwork ? name + '-early-close' : reason, byNetwork && !early)
  }

  /** @internal */
  override _retry(cause: string): void {
    this._clear(this._raceT)
    super._retry(cause)
  }

  /** @internal */
  override _stop(): void {
    this._clear(this._raceT, this._upT, this._okT)
    super._stop()
  }

  /**
   * Try every transport to `url` on its own and report which work from this network, how long
   * each took and why any failed: the thing to ask a user behind a corporate proxy to run.
   *
   * @example
   * console.table((await Lifeline.diagnose('/rt')).results)
   */
  static diagnose(url: string, options: LifelineOptions = {}): Promise<DiagnoseReport> {
    const Ctor = this as unknown as new (url: string, o: LifelineOptions) => LifelineRacing
    // Each transport gets 5 s unless told otherwise: long enough for a slow network, short
    // enough that a proxy that hangs a transport does not make the report wait 15 s for it.
    const opts = (o: LifelineOptions) => new Ctor(url, Object.assign({ connectTimeout: 5000 }, options, o, { maxRetries: 0, storage: null }))
    const probe = opts({})
    const classes = probe._classes
    const results: DiagnoseResult[] = []
    probe.close()
    return classes
      .reduce(
        (p, C) =>
          p.then(
            () =>
              new Promise<void>((done) => {
                const ll = opts({ transports: [C] })
                const t0 = ll._now()
                const end = (ok: boolean, reason: string) => {
                  if (results.length < classes.indexOf(C) + 1) results.push({ transport: C.transportName, ok, ms: ll._now() - t0, rtt: ok ? ll.rtt : 0, reason })
                  ll.close()
                  done()
                }
                ll._proof = () => end(true, 'ok')
                ll.on('close', (e) => end(false, e.reason))
              }),
          ),
        Promise.resolve(),
      )
      .then(() => {
        const win = results.filter((r) => r.ok)[0]
        return { url: probe.url, best: win ? win.transport : null, results }
      })
  }
}
