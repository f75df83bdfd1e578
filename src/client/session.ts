import { T, isResumable, type Hello } from '../protocol/frames'
import { backoff } from './backoff'
import type { State } from './events'
import { Messages } from './messages'
import type { LifelineOptions } from './options'
import type { Transport, TransportClass } from './transports/transport'

/** One transport attempt and what it has shown so far (internal: not exported from the package). */
export interface Conn {
  t: Transport
  /** Session id it was opened for (undefined: asks for a new session). */
  sid?: string
  /** The server's hello, once received. */
  h?: Hello
  /** Progress: 0 started, 1 network open, 2 hello received, 3 proven both ways. */
  s: number
  /** Sequence number of the next message that arrives on it. */
  seq: number
  /** When its proof ping went out; when it was proven. */
  p: number
  up: number
  /** Connect deadline timer. */
  to?: unknown
}

/**
 * The connection half of a session: tries transports in order, proves them, moves the session
 * onto one, watches its heartbeat, reconnects with backoff, resumes or starts anew. State changes
 * only in {@link Session._setState}. `select.ts` adds racing, memory and upgrades on top. Not
 * exported from the package; not marked internal either, as the published types of `Lifeline` extend it.
 */
export abstract class Session extends Messages {
  /** Round trip of the last proof ping, ms. */
  rtt = 0
  /** Transports to use, in order of preference. @internal */ _classes: TransportClass[]
  /** @internal */ _conns: Conn[] = []
  /** Why the previous session ended, if one did: the next new one is a reset. @internal */ _ended?: string
  /** Candidates left in this attempt. @internal */ _queue: TransportClass[] = []
  /** Why the next activation happens (reported in the `transport` event). @internal */ _why = 'preferred'
  /** @internal */ _attempts = 0
  /** @internal */ _retryT: unknown
  private _hbT: unknown
  private _hbDue = 0
  private _k = 0

  constructor(url: string, options: LifelineOptions, available: TransportClass[]) {
    super(url, options)
    const ctx = this._ctx
    const o = this._o
    this._classes = (o.transports || available)
      .map((x) => (typeof x == 'string' ? available.filter((a) => a.transportName == x)[0] : x) || this._throw('LL_ERR_INVALID_OPTION', 'unknown transport ' + x))
      .filter((C) => C.isSupported(ctx))
    if (!this._classes.length) this._throw('LL_ERR_NO_TRANSPORT', 'no supported transport')
  }

  /** Start a connection attempt: get a token if one is needed, then try transports. @internal */
  _connect(): void {
    const tok = this._o.token
    this._clear(this._retryT)
    Promise.resolve(typeof tok == 'function' ? tok() : tok).then(
      (v) => {
        this._token = v
        if (!this._act && this.state != 'closing' && this.state != 'closed') {
          this._queue = this._order()
          this._launchNext()
        }
      },
      (e) => (this._error('LL_ERR_INVALID_OPTION', 'token() failed: ' + e), this._retry('token-failed')),
    )
  }

  /** Open the next candidate of this attempt. @internal */
  _launchNext(): void {
    const C = this._queue.shift()
    if (!C) return
    const t = new C(this._ctx)
    // seq, p and up are set before they are read (seq is checked for being set).
    const c = { t, sid: (t.sid = this.sessionId || undefined), s: 0 } as Conn
    c.to = this._set(() => this._fail(c, this._stalled(c)), this._o.connectTimeout)
    t.on('open', () => (c.s = c.s || 1))
    t.on('message', (f) => this._frame(c, f))
    t.on('close', (why, err) => {
      if (why == 'protocol') this._error('LL_ERR_PROTOCOL', 'bad data: ' + (err && err.message))
      if (this._conns.indexOf(c) >= 0) this._fail(c, t.name + '-' + (c.s ? why : 'refused'), true)
    })
    this._conns.push(c)
    this._log('try', t.name, c.sid ? 'resume' : 'new')
    t.open()
  }

  /**
   * Why a candidate has not proven itself yet: `-hung` (no connection), `-silent` (connected,
   * no traffic both ways), or for a stream with nothing to show, `-buffered` (proxies that buffer
   * may hold even the response headers).
   * @internal
   */
  _stalled(c: Conn): string {
    return c.t.name + (c.t.name == 'stream' && c.s < 2 ? '-buffered' : c.s ? '-silent' : '-hung')
  }

  /** A connection said hello. @internal */
  _hello(c: Conn, h: Hello): void {
    // A stream reopened after the server recycled it says hello again: same session, carry on.
    if (c.h) return h.sid == c.h.sid ? this._acked(h.ack, c) : this._bad(c, 'hello for another session')
    // Opened for another session than the current one: say goodbye so the server drops it.
    // (`!=` holds undefined and null equal: no id on either side is a match.)
    if (c.sid != this.sessionId || (c.sid && h.sid != c.sid)) return this._drop(c, true)
    c.h = h
    c.s = 2
    c.sid = c.t.sid = h.sid
    if (!this.sessionId) {
      this.sessionId = h.sid
      if (this._ended) {
        const unacked = this._takeUnacked(true)
        this._setState('connecting', 'reset')
        this._emit('reset', { reason: this._ended, unacked })
      }
    }
    c.p = this._now()
    c.t.send([T.Ping], this._next())
    this._acked(h.ack, c)
    // A hello acknowledging what was never sent has dropped its connection.
    if (!this._act && this._conns.indexOf(c) >= 0) this._activate(c, this._why)
  }

  /** A connection answered its proof ping: it carries traffic both ways. @internal */
  _pong(c: Conn): void {
    if (c.s != 2 || this._conns.indexOf(c) < 0) return
    c.s = 3
    this.rtt = (c.up = this._now()) - c.p
    this._clear(c.to)
    this._proven(c)
  }

  /** @internal */
  _proven(c: Conn): void {
    this._queue = []
    if (c != this._act) this._activate(c, this._why)
    this._why = 'preferred'
  }

  /** Make `c` the transport that carries the session. @internal */
  _activate(c: Conn, reason: string): void {
    const prev = this._act
    this._act = c
    this._sent = 0
    c.t.send([T.Use + ++this._k, T.Seq + this._base], this._base)
    this._flush()
    if (prev) this._drop(prev)
    this._watch()
    this._emit('transport', { name: c.t.name, reason, previous: prev ? prev.t.name : null })
    if (this.state != 'open') {
      const first = this.state == 'connecting'
      this._setState('open', reason)
      if (first) this._emit('open', { reset: !!this._ended })
    }
  }

  /** Heartbeat: silence is judged by the wall clock; a timer that fired late (a throttled or frozen page) earns one ping of grace. */
  private _watch(late?: boolean): void {
    const c = this._act
    const now = this._now()
    this._clear(this._hbT)
    if (!c || !c.h) return
    const limit = c.h.hb + this._o.heartbeatTimeout
    const idle = now - c.t._last
    let wait = limit - idle
    if (idle >= limit) {
      if (late || now - this._hbDue < 1000) return this._fail(c, 'heartbeat-timeout')
      c.t.send([T.Ping], this._next())
      wait = this._o.heartbeatTimeout
    }
    this._hbDue = now + wait
    this._hbT = this._set(() => this._watch(), wait)
  }

  /** The network is back or the page woke: retry now, or check the connection. @internal */
  _wake(): void {
    const c = this._act
    if (c) {
      c.t.send([T.Ping], this._next())
      this._clear(this._hbT)
      this._hbT = this._set(() => this._watch(true), this._o.heartbeatTimeout)
    } else if (this._attempts && !this._conns.length && this.state != 'closed') this._connect()
  }

  /** Forget a connection; `goodbye` tells its server it is not needed. @internal */
  _drop(c: Conn, goodbye?: boolean): void {
    const i = this._conns.indexOf(c)
    if (i >= 0) this._conns.splice(i, 1)
    this._clear(c.to)
    if (goodbye) c.t.end([T.Close + '1000 not needed'], this._next())
    else c.t.close()
  }

  /** Forget every connection: none carries the session any more. @internal */
  _dropAll(): void {
    this._act = undefined
    for (const x of this._conns.slice()) this._drop(x)
  }

  /** Tear a connection down and react as to a drop. @internal */
  _fail(c: Conn, reason: string, byNetwork?: boolean): void {
    this._drop(c)
    this._lost(c, reason, byNetwork)
  }

  /** A connection ended. @internal */
  _lost(c: Conn, reason: string, byNetwork?: boolean): void {
    const why = c.s == 3 && byNetwork ? c.t.name + '-dropped' : reason
    this._log('lost', c.t.name, reason)
    if (c.s == 3 && this._now() - c.up >= this._o.minUptime) this._attempts = 0
    if (c == this._act) {
      this._dropAll()
      this._retry(why)
    } else if (!this._act) {
      this._why = why
      if (this._queue.length) this._launchNext()
      else if (!this._conns.length) this._retry(why)
    }
  }

  /** Schedule the next attempt, or give up after `maxRetries`. @internal */
  _retry(cause: string): void {
    const o = this._o
    if (this.state == 'closing' || this.state == 'closed') return
    this._queue = []
    if (this.state != 'connecting') this._setState('reconnecting', cause)
    if (this._attempts >= o.maxRetries) return this._finish(1006, cause, false)
    const delay = this._attempts ? backoff(this._attempts - 1, o) : 0
    this._emit('reconnecting', { attempt: ++this._attempts, delay, cause })
    this._clear(this._retryT)
    this._retryT = this._set(() => this._connect(), delay)
  }

  /** A malformed frame: report it, drop that connection, recover on another. @internal */
  _bad(c: Conn | undefined, what: string): void {
    this._error('LL_ERR_PROTOCOL', what)
    if (c) this._fail(c, 'protocol-error')
  }

  /** The server ended the session (`c` frame). @internal */
  _serverClose(c: Conn, code: number, reason: string): void {
    const why = 'session-closed-' + code
    if (c.h && c.h.sid != this.sessionId) return this._drop(c)
    // A spare connection (an upgrade test, a racing candidate) turned away while another carries
    // the session, say by a server process that does not have it: only the spare goes.
    if (this._act && c != this._act) return this._fail(c, why)
    if (!isResumable(code)) return this._finish(code, reason, true)
    // Not resumable (expired, overflowed, server going away): start a new session. A server that
    // merely does not know the session is up, so that is retried at once. A refused first
    // connection had no session to lose: no reset then.
    if (this.sessionId) this._ended = why
    this.sessionId = null
    if (code == 4001) this._attempts = 0
    this._dropAll()
    this._retry(why)
  }

  /** End for good: emit `close` once. @internal */
  _finish(code: number, reason: string, wasClean: boolean): void {
    if (this.state == 'closed') return
    this._dropAll()
    this._clear(this._ackT, this._hbT, this._retryT)
    this._stop()
    this._setState('closed', 'close-' + code)
    this._emit('close', { code, reason, wasClean, unacked: this._takeUnacked() })
  }

  /** The one place state changes. @internal */
  _setState(current: State, cause: string): void {
    const previous = this.state
    if (previous == current) return
    this.state = current
    this._log('state', previous, '->', current, cause)
    this._emit('state', { previous, current, cause })
  }

  /** Transports to try this attempt, in order. @internal */
  _order(): TransportClass[] {
    return this._classes.slice()
  }

  /** Heartbeat interval to ask for. @internal */
  _hbAsk(): number {
    return this._o.heartbeatInterval
  }

  /** Stop timers and listeners of subclasses. @internal */
  abstract _stop(): void
}
