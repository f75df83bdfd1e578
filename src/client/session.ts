import EventEmitter from 'eventemitter3'
import { T, isResumable, num, splitFrame, type Frame, type Hello } from '../protocol/frames'
import { utf8Length } from '../protocol/utf8'
import { realClock } from './clock'
import { backoff } from './backoff'
import { LifelineError, type ErrorCode } from '../protocol/errors'
import type { Data, LifelineEvents, State } from './events'
import { DEFAULTS, type LifelineOptions, type Resolved } from './options'
import type { Transport, TransportClass, TransportContext } from './transports/transport'

/** One transport attempt and what it has shown so far. @internal */
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

type Entry = { d: string | Uint8Array | Blob; n: number }

/**
 * The session under a Lifeline: numbers, acknowledges, keeps and resends messages so that a drop
 * or a transport switch loses, repeats and reorders nothing; tries transports in order and
 * reconnects with backoff. State changes only in {@link Session._setState}. `select.ts` adds
 * racing, memory and upgrades on top.
 * @internal
 */
export abstract class Session extends EventEmitter<LifelineEvents> {
  /** Current state. */
  state: State = 'connecting'
  /** Session id, once the server has given one. */
  sessionId: string | null = null
  /** Bytes sent but not yet acknowledged by the server. */
  bufferedAmount = 0
  /** Round trip of the last proof ping, ms. */
  rtt = 0
  /** @internal */ _o: Resolved
  /** @internal */ _ctx: TransportContext
  /** Transports to use, in order of preference. @internal */ _classes: TransportClass[]
  /** @internal */ _conns: Conn[] = []
  /** @internal */ _act?: Conn
  /** A session existed before: the next new one is a reset. @internal */ _had?: boolean
  /** Candidates left in this attempt. @internal */ _queue: TransportClass[] = []
  /** Why the next activation happens (reported in the `transport` event). @internal */ _why = 'preferred'
  /** @internal */ _attempts = 0
  /** @internal */ _retryT: unknown
  /** Token for the next connection. @internal */ _token?: string
  private _out: Entry[] = []
  /** Sequence number of `_out[0]`; index of the next to put on the transport; highest ever put. */
  private _base = 1
  private _sent = 0
  private _hi = 0
  private _rcv = 0
  private _ackd = 0
  private _ackT: unknown
  private _hbT: unknown
  private _hbDue = 0
  private _k = 0
  private _flushing?: boolean

  constructor(
    /** The endpoint, absolute, as `http(s)://`. @internal */ public readonly _url: string,
    options: LifelineOptions,
    available: TransportClass[],
  ) {
    super()
    const o = (this._o = Object.assign({ clock: realClock }, DEFAULTS, options) as Resolved)
    const g = typeof globalThis != 'undefined' ? globalThis : self
    const ctx = (this._ctx = {
      url: (t: Transport, opening?: boolean) => this._query(t, opening),
      WebSocket: o.WebSocket || g.WebSocket,
      fetch: o.fetch !== undefined ? o.fetch || undefined : g.fetch && g.fetch.bind(g),
      withCredentials: o.withCredentials,
      maxMessageSize: o.maxMessageSize,
      clock: o.clock,
      heartbeat: o.heartbeatInterval,
      plainPing: o.plainPing,
    })
    this._classes = (o.transports || available)
      .map((x) => (typeof x == 'string' ? available.filter((a) => a.transportName == x)[0] : x) || this._throw('LL_ERR_INVALID_OPTION', 'unknown transport ' + x))
      .filter((C) => C.isSupported(ctx))
    if (!this._classes.length) this._throw('LL_ERR_NO_TRANSPORT', 'no supported transport')
  }

  /** Chosen transport's name, or null while none carries the session. */
  get transport(): string | null {
    return this._act ? this._act.t.name : null
  }

  /** @internal */
  _set(fn: () => void, ms: number): unknown {
    return this._o.clock.setTimeout(fn, ms)
  }

  /** @internal */
  _clear(...ids: unknown[]): void {
    for (const id of ids) this._o.clock.clearTimeout(id)
  }

  /** @internal */
  _now(): number {
    return this._o.clock.now()
  }

  /** Queue a message; it goes out at once when a transport is up. @internal */
  _send(d: string | Uint8Array | Blob): void {
    const o = this._o
    const h = this._act && this._act.h
    if (this.state == 'closing' || this.state == 'closed') this._throw('LL_ERR_INVALID_STATE', 'send() after close()')
    const n = typeof d == 'string' ? utf8Length(d) : d instanceof Uint8Array ? d.length : d.size
    const max = Math.min(o.maxMessageSize, h ? h.max : Infinity)
    if (n > max) this._throw('LL_ERR_MESSAGE_TOO_BIG', n + ' bytes > maxMessageSize ' + max)
    if (this.bufferedAmount + n > o.maxBufferedAmount || this._out.length >= o.maxQueueLength) this._throw('LL_ERR_BUFFER_FULL', 'send queue full')
    const e: Entry = { d, n }
    this._out.push(e)
    this.bufferedAmount += n
    // Blobs are read to bytes first; the entry keeps its place so order holds.
    if (!(typeof d == 'string' || d instanceof Uint8Array)) new Response(d).arrayBuffer().then((b) => ((e.d = new Uint8Array(b)), this._flush()))
    // Everything sent in one task goes out together: one frame instead of many.
    if (!this._flushing) Promise.resolve().then(() => this._flush(), (this._flushing = true) as never)
  }

  /** Put queued messages on the active transport, consecutive texts as one batch. @internal */
  _flush(): void {
    this._flushing = false
    const c = this._act
    if (!c) return
    let frames: Frame[] = []
    let texts: string[] = []
    let from = this._base + this._sent
    let bytes = 0
    let chars = 0
    const batch = () => {
      if (texts.length) frames.push(texts.length > 1 ? T.Batch + JSON.stringify(texts) : T.Message + texts[0])
      texts = []
      chars = 0
    }
    let i = this._sent
    for (; i < this._out.length; i++) {
      const { d, n } = this._out[i]
      // At most about 256 KiB or 1,000 messages per hand-over: an HTTP transport may start a
      // new POST body there, so a long queue never makes a body the server refuses.
      if (bytes > 262144 || this._base + i - from > 999) {
        batch()
        c.t.send(frames, from)
        frames = []
        from = this._base + i
        bytes = 0
      }
      bytes += n
      if (typeof d == 'string') {
        if (chars + d.length > 16384) batch()
        texts.push(d)
        chars += d.length
      } else if (d instanceof Uint8Array) {
        batch()
        frames.push(d)
      } else break
    }
    batch()
    this._sent = i
    this._hi = Math.max(this._hi, this._base + i - 1)
    if (frames.length) c.t.send(frames, from)
    if (!this._o.resume) this._acked(this._base + i - 1)
  }

  /** The server has everything up to `n`: forget it. @internal */
  _acked(n: number): void {
    const k = n - this._base + 1
    if (k > this._out.length) return this._bad(this._act, 'ack beyond what was sent')
    if (k <= 0) return
    for (const e of this._out.splice(0, k)) this.bufferedAmount -= e.n
    this._base += k
    this._sent = Math.max(0, this._sent - k)
  }

  /**
   * Take back messages never acknowledged, as the app sent them, and number afresh. With
   * `keepUnsent`, messages that never left stay queued for the new session: only those that may
   * or may not have reached the old one come back.
   * @internal
   */
  _takeUnacked(keepUnsent?: boolean): Data[] {
    const gone = this._out.splice(0, keepUnsent ? Math.max(0, Math.min(this._out.length, this._hi - this._base + 1)) : this._out.length)
    this._sent = this._rcv = this._ackd = this._hi = 0
    this._base = 1
    return gone.map((e) => ((this.bufferedAmount -= e.n), e.d instanceof Uint8Array ? (e.d.buffer as ArrayBuffer) : e.d))
  }

  /** Handle one frame from connection `c`. @internal */
  _frame(c: Conn, f: Frame): void {
    if (typeof f != 'string') return this._data(c, f)
    const ty = f[0]
    const n = num(f)
    const body = f.slice(1)
    let x: any
    if (ty == T.Message) this._data(c, body)
    else if (ty == T.Seq && n >= 0) c.seq = n
    else if (ty == T.Ack && n >= 0) this._acked(n)
    else if (ty == T.Ping) c.t.send([T.Pong + body], this._next())
    else if (ty == T.Pong) this._pong(c)
    else if (ty == T.Close || ty == T.Error) {
      const [code, text] = splitFrame(f)
      if (ty == T.Error) this._error('LL_ERR_SERVER', code + ': ' + text)
      else this._serverClose(c, +code || 1005, text)
    } else {
      try {
        x = JSON.parse(body)
      } catch (e) {}
      if (ty == T.Batch && Array.isArray(x) && x.every((m) => typeof m == 'string')) for (const m of x) this._data(c, m)
      else if (ty == T.Open && x && typeof x.sid == 'string' && x.ack >= 0 && x.hb > 0 && x.max > 0) this._hello(c, x)
      else this._bad(c, 'bad frame ' + f.slice(0, 16))
    }
  }

  /** An application message arrived on `c`: deliver it once, in order. */
  private _data(c: Conn, d: string | Uint8Array): void {
    if (!c.h || !c.seq) return this._bad(c, 'message before hello')
    const seq = c.seq++
    if (c.h.sid != this.sessionId || seq <= this._rcv) return
    if (seq > this._rcv + 1 && this._o.resume) return this._bad(c, 'gap after ' + this._rcv)
    this._rcv = seq
    this._deliver(d)
    if (this._rcv - this._ackd > 127) this._ack()
    else if (!this._ackT) this._ackT = this._set(() => this._ack(), 100)
  }

  /** Acknowledge what arrived; a poll's URL carries it already (its cursor). */
  private _ack(): void {
    const c = this._act
    this._clear(this._ackT)
    this._ackT = 0
    if (c && this._rcv != this._ackd && this._o.resume && c.t.name != 'polling') c.t.send([T.Ack + (this._ackd = this._rcv)], this._next())
  }

  /** Sequence number the next new message will get. @internal */
  _next(): number {
    return this._base + this._sent
  }

  /** The query every request carries (PROTOCOL.md §1). */
  private _query(t: Transport, opening?: boolean): string {
    const tok = this._token
    return (
      this._url +
      (this._url.indexOf('?') < 0 ? '?' : '&') +
      'v=1&t=' +
      t.name +
      '&ack=' +
      this._rcv +
      (t.sid ? '&sid=' + t.sid : '') +
      (opening ? '&o=1&hb=' + this._hbAsk() + (tok ? '&token=' + encodeURIComponent(tok) : '') : '') +
      (this._o.resume ? '' : '&r=0')
    )
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
    const c: Conn = { t, sid: (t.sid = this.sessionId || undefined), s: 0, seq: 0, p: 0, up: 0 }
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
    if (c.h) return h.sid == c.h.sid ? this._acked(h.ack) : this._bad(c, 'hello for another session')
    // Opened for another session than the current one: say goodbye so the server drops it.
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
    c.p = this._now()
    c.t.send([T.Ping], this._next())
    this._acked(h.ack)
    if (!this._act) this._activate(c, this._why)
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
      if (first) this._emit('open', { reset: !!this._had })
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
      this._act = undefined
      for (const x of this._conns.slice()) this._drop(x)
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
    this._error('LL_ERR_PROTOCOL', 'protocol error: ' + what)
    if (c) this._fail(c, 'protocol-error')
  }

  /** The server ended the session (`c` frame). */
  private _serverClose(c: Conn, code: number, reason: string): void {
    if (c.h && c.h.sid != this.sessionId) return this._drop(c)
    if (!isResumable(code)) return this._finish(code, reason, true)
    // Not resumable (expired, overflowed, server going away): start a new session. A server that
    // merely does not know the session is up, so that is retried at once.
    this.sessionId = null
    this._had = true
    if (code == 4001) this._attempts = 0
    for (const x of this._conns.slice()) this._drop(x)
    this._act = undefined
    this._retry('session-closed-' + code)
  }

  /** End for good: emit `close` once. @internal */
  _finish(code: number, reason: string, wasClean: boolean): void {
    if (this.state == 'closed') return
    for (const c of this._conns.slice()) this._drop(c)
    this._act = undefined
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

  /**
   * Emit to `on<type>` and to listeners. An exception from app code is rethrown in a fresh task
   * (it shows in the console, as from a WebSocket handler) and cannot break the session; as with
   * any emitter, it stops later listeners of that one event.
   * @internal
   */
  _emit(type: keyof LifelineEvents, ev: object): void {
    const e = ev as { type: string; target: unknown }
    e.type = type
    e.target = this
    const h = (this as unknown as Record<string, (e: unknown) => void>)['on' + type]
    const rethrow = (err: unknown) =>
      setTimeout(() => {
        throw err
      })
    // Two plain try blocks: this runs once per message, so nothing is allocated on the way.
    try {
      if (h) h.call(this, e)
    } catch (err) {
      rethrow(err)
    }
    try {
      this.emit(type, e as never)
    } catch (err) {
      rethrow(err)
    }
  }

  /** @internal */
  _error(code: ErrorCode, message: string): void {
    this._log('error', code, message)
    this._emit('error', { error: new LifelineError(code, message), message })
  }

  /** @internal */
  _throw(code: ErrorCode, message: string): never {
    throw new LifelineError(code, message)
  }

  /** @internal */
  _log(...args: unknown[]): void {
    const o = this._o
    const l = o.logger === undefined ? (o.debug ? console : null) : o.logger
    if (l && o.debug) l.debug('[lifeline]', ...args)
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
  /** Hand an application message to the app. @internal */
  abstract _deliver(d: string | Uint8Array): void
}
