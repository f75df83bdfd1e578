import EventEmitter from 'eventemitter3'
import { T, closeFrame, isResumable, num, splitFrame, type Frame, type Hello } from '../protocol/frames'
import { utf8Length } from '../protocol/utf8'
import { realClock } from './clock'
import { LifelineError, type ErrorCode } from '../protocol/errors'
import type { Data, LifelineEvents, State } from './events'
import { DEFAULTS, type LifelineOptions, type Resolved } from './options'
import type { Transport, TransportContext } from './transports/transport'

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
  /** When it started, when its proof ping went out, when it was proven. */
  at: number
  pingAt: number
  up: number
  /** Connect deadline timer. */
  to?: unknown
}

type Entry = { d: string | Uint8Array | Blob; n: number }

/**
 * The session under a Lifeline: numbers, acknowledges, keeps and resends messages so that a
 * drop or a transport switch loses, repeats and reorders nothing, and drives reconnection.
 * State changes only through {@link Session._setState}.
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
  /** @internal */ _conns: Conn[] = []
  /** @internal */ _act?: Conn
  /** @internal */ _had = false
  private _out: Entry[] = []
  /** Sequence number of `_out[0]`. */
  private _base = 1
  /** Index in `_out` of the next message to put on the active transport. */
  private _sent = 0
  /** Highest sequence number ever put on a transport. */
  private _hi = 0
  private _rcv = 0
  private _ackd = 0
  private _ackT: unknown
  private _hbT: unknown
  private _hbDue = 0
  private _k = 0
  private _flushing = false
  /** @internal */ _attempts = 0
  /** @internal */ _retryT: unknown

  constructor(
    /** The endpoint, absolute, as `http(s)://`. @internal */ public readonly _url: string,
    options: LifelineOptions,
  ) {
    super()
    const o = (this._o = Object.assign({ clock: realClock }, DEFAULTS, options) as Resolved)
    const g = typeof globalThis != 'undefined' ? globalThis : (self as typeof globalThis)
    this._ctx = {
      url: (t, opening) => this._query(t, opening),
      WebSocket: o.WebSocket || g.WebSocket,
      fetch: o.fetch || (g.fetch && g.fetch.bind(g)),
      withCredentials: o.withCredentials,
      maxMessageSize: o.maxMessageSize,
      clock: o.clock,
      heartbeat: o.heartbeatInterval,
      plainPing: o.plainPing,
    }
  }

  /** Chosen transport's name, or null while none carries the session. */
  get transport(): string | null {
    return this._act ? this._act.t.name : null
  }

  /** Queue a message; it goes out at once when a transport is up. @internal */
  _send(d: string | Uint8Array | Blob): void {
    const o = this._o
    if (this.state == 'closing' || this.state == 'closed') this._throw('LL_ERR_INVALID_STATE', 'send() after close(); state is ' + this.state)
    const n = typeof d == 'string' ? utf8Length(d) : d instanceof Uint8Array ? d.length : d.size
    const max = Math.min(o.maxMessageSize, this._act && this._act.h ? this._act.h.max : Infinity)
    if (n > max) this._throw('LL_ERR_MESSAGE_TOO_BIG', 'message of ' + n + ' bytes exceeds maxMessageSize ' + max)
    if (this.bufferedAmount + n > o.maxBufferedAmount || this._out.length >= o.maxQueueLength)
      this._throw('LL_ERR_BUFFER_FULL', 'send queue full: ' + this._out.length + ' messages, ' + this.bufferedAmount + ' bytes unacknowledged')
    const e: Entry = { d, n }
    this._out.push(e)
    this.bufferedAmount += n
    if (typeof d == 'object' && !(d instanceof Uint8Array)) {
      // Blobs are read to bytes first; the entry holds its place so order is kept.
      new Response(d).arrayBuffer().then((b) => {
        e.d = new Uint8Array(b)
        this._flush()
      })
    }
    if (!this._flushing) {
      this._flushing = true
      // Everything sent in the same task goes out together: one frame instead of many.
      Promise.resolve().then(() => this._flush())
    }
  }

  /** Put queued messages on the active transport, consecutive texts as one batch frame. @internal */
  _flush(): void {
    this._flushing = false
    const c = this._act
    if (!c) return
    const frames: Frame[] = []
    const first = this._base + this._sent
    let texts: string[] = []
    let chars = 0
    const batch = () => {
      if (texts.length) frames.push(texts.length == 1 ? T.Message + texts[0] : T.Batch + JSON.stringify(texts))
      texts = []
      chars = 0
    }
    let i = this._sent
    let bytes = 0
    let from = first
    for (; i < this._out.length; i++) {
      const d = this._out[i].d
      // Hand over at most about 256 KiB or 1,000 messages at a time: an HTTP transport may
      // start a new POST body there, so a long queue (built up offline) never makes one body
      // the server refuses.
      if (bytes > 262144 || this._base + i - from >= 1000) {
        batch()
        c.t.send(frames.splice(0), from)
        from = this._base + i
        bytes = 0
      }
      bytes += this._out[i].n
      if (typeof d == 'string') {
        // Batches stay small enough for any server's frame limit (PROTOCOL.md "Batches").
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

  /** The server has everything up to `n`: forget it. `c` said so, and is dropped if it lies. */
  /** @internal */
  _acked(n: number, c?: Conn): void {
    const k = n - this._base + 1
    if (k <= 0) return
    if (k > this._out.length) return this._bad(c, 'ack beyond what was sent')
    for (const e of this._out.splice(0, k)) this.bufferedAmount -= e.n
    this._base += k
    this._sent = Math.max(0, this._sent - k)
  }

  /**
   * Take back messages never acknowledged, as the app sent them, and start numbering afresh.
   * With `keepUnsent`, messages that never left this client stay queued for the new session:
   * only those that may or may not have reached the old one are handed back.
   * @internal
   */
  _takeUnacked(keepUnsent?: boolean): Data[] {
    const n = keepUnsent ? Math.max(0, Math.min(this._out.length, this._hi - this._base + 1)) : this._out.length
    const gone = this._out.splice(0, n)
    for (const e of gone) this.bufferedAmount -= e.n
    this._sent = this._rcv = this._ackd = this._hi = 0
    this._base = 1
    return gone.map((e) => (e.d instanceof Uint8Array ? (e.d.buffer as ArrayBuffer) : e.d))
  }

  /** Handle one frame from connection `c`. @internal */
  _frame(c: Conn, f: Frame): void {
    if (typeof f != 'string') return this._data(c, f)
    const ty = f[0]
    const n = num(f)
    if (ty == T.Message) this._data(c, f.slice(1))
    else if (ty == T.Batch) {
      let list: unknown
      try {
        list = JSON.parse(f.slice(1))
      } catch (e) {}
      if (!Array.isArray(list) || list.some((x) => typeof x != 'string')) return this._bad(c, 'bad batch')
      for (const m of list) this._data(c, m)
    } else if (ty == T.Seq && n >= 0) c.seq = n
    else if (ty == T.Ack && n >= 0) this._acked(n, c)
    else if (ty == T.Ping) c.t.send([T.Pong + f.slice(1)], this._next())
    else if (ty == T.Pong) this._pong(c)
    else if (ty == T.Open) {
      let h: Hello | undefined
      try {
        h = JSON.parse(f.slice(1))
      } catch (e) {}
      // Whole numbers, and a heartbeat a timer can hold (past 2^31 ms timers fire at once, so a
      // huge one spun the client: regression test in test/unit/session.property.test.ts).
      const nums = h ? [h.ack, h.hb, h.max] : []
      if (!h || !h.sid || typeof h.sid != 'string' || nums.some((x) => typeof x != 'number' || x % 1 != 0) || !(h.ack >= 0 && h.hb > 0 && h.hb <= 1 << 30 && h.max > 0))
        return this._bad(c, 'bad hello')
      this._hello(c, h)
    } else if (ty == T.Close) {
      const [code, reason] = splitFrame(f)
      this._serverClose(c, +code || 1005, reason)
    } else if (ty == T.Error) {
      const [code, text] = splitFrame(f)
      this._error('LL_ERR_SERVER', code + ': ' + text)
    } else this._bad(c, 'unknown frame ' + JSON.stringify(f.slice(0, 16)))
  }

  /** An application message arrived on `c`: deliver it once, in order. */
  private _data(c: Conn, d: string | Uint8Array): void {
    if (!c.h || !c.seq) return this._bad(c, 'message before hello')
    if (c.h.sid != this.sessionId) return
    const seq = c.seq++
    if (seq <= this._rcv) return
    if (seq > this._rcv + 1 && this._o.resume) return this._bad(c, 'gap: got ' + seq + ' after ' + this._rcv)
    this._rcv = seq
    this._deliver(d)
    if (this._rcv - this._ackd >= 128) this._ack()
    else if (!this._ackT) this._ackT = this._o.clock.setTimeout(() => this._ack(), 100)
  }

  /** Acknowledge what has arrived; acks ride in the URL of every HTTP request too. */
  private _ack(): void {
    this._o.clock.clearTimeout(this._ackT)
    this._ackT = 0
    const c = this._act
    if (!c || this._rcv == this._ackd || !this._o.resume) return
    this._ackd = this._rcv
    // A poll's URL carries the cursor, which is the ack; only other transports need a frame.
    if (c.t.name != 'polling') c.t.send([T.Ack + this._rcv], this._next())
  }

  /** Sequence number the next new message will get. @internal */
  _next(): number {
    return this._base + this._sent
  }

  /** The query every request carries (PROTOCOL.md "Requests"). */
  private _query(t: Transport, opening?: boolean): string {
    let q = 'v=1&t=' + t.name + '&ack=' + this._rcv + (t.sid ? '&sid=' + t.sid : '')
    if (opening) q += '&o=1&hb=' + this._hbAsk() + (this._token ? '&token=' + encodeURIComponent(this._token) : '')
    if (!this._o.resume) q += '&r=0'
    return this._url + (this._url.indexOf('?') < 0 ? '?' : '&') + q
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
      if (first) this._emit('open', {})
    }
  }

  /** Heartbeat: judge silence by the wall clock; a timer that fired late (a throttled or frozen page) earns one ping of grace. */
  private _watch(late?: boolean): void {
    const o = this._o
    const c = this._act
    o.clock.clearTimeout(this._hbT)
    if (!c || !c.h) return
    const now = o.clock.now()
    const limit = c.h.hb + o.heartbeatTimeout
    const idle = now - c.t._last
    let wait = limit - idle
    if (idle >= limit) {
      if (!late && now - this._hbDue > 1000) {
        c.t.send([T.Ping], this._next())
        wait = o.heartbeatTimeout
      } else return this._fail(c, 'heartbeat-timeout')
    }
    this._hbDue = now + wait
    this._hbT = o.clock.setTimeout(() => this._watch(), wait)
  }

  /** Check the active connection now (after sleep, or when the network comes back). @internal */
  _probe(): void {
    const c = this._act
    if (c) {
      c.t.send([T.Ping], this._next())
      this._o.clock.clearTimeout(this._hbT)
      this._hbT = this._o.clock.setTimeout(() => this._watch(true), this._o.heartbeatTimeout)
    }
  }

  /** Drop a connection: it no longer counts for anything. @internal */
  _drop(c: Conn, goodbye?: boolean): void {
    const i = this._conns.indexOf(c)
    if (i >= 0) this._conns.splice(i, 1)
    this._o.clock.clearTimeout(c.to)
    if (goodbye) c.t.end([closeFrame(1000, 'not needed')], this._next())
    else c.t.close()
  }

  /** Tear a connection down for a reason and react as if it had dropped. @internal */
  _fail(c: Conn, reason: string): void {
    this._drop(c)
    this._lost(c, reason)
  }

  /** A malformed frame: report it, drop that connection, recover on another. @internal */
  _bad(c: Conn | undefined, what: string): void {
    this._error('LL_ERR_PROTOCOL', 'protocol error from server: ' + what)
    c = c || this._act
    if (c) this._fail(c, 'protocol-error')
  }

  /** The server ended the session (`c` frame). */
  private _serverClose(c: Conn, code: number, reason: string): void {
    if (c.h && c.h.sid != this.sessionId) return this._drop(c)
    if (!isResumable(code)) return this._finish(code, reason, true)
    // Not resumable (expired, overflowed, server going away): start a new session. A server
    // that merely does not know the session is up, so that is retried at once.
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
    const clock = this._o.clock
    for (const t of [this._ackT, this._hbT, this._retryT]) clock.clearTimeout(t)
    this._stopAll()
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

  /** Emit to `on<type>` and emitter listeners; a throwing app handler cannot break the session. @internal */
  _emit(type: keyof LifelineEvents, ev: object): void {
    const e = Object.assign(ev, { type, target: this }) as never
    const h = (this as unknown as Record<string, unknown>)['on' + type]
    for (const fn of [h, ...this.listeners(type)]) {
      if (typeof fn == 'function')
        try {
          fn.call(this, e)
        } catch (err) {
          setTimeout(() => {
            throw err
          })
        }
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
    if (l && (o.debug || args[0] != 'state')) l.debug('[lifeline]', ...args)
  }

  /** Token for the next connection, fetched by the selector. @internal */
  _token?: string
  /** Heartbeat interval to ask for. @internal */
  abstract _hbAsk(): number
  /** A connection ended. @internal */
  abstract _lost(c: Conn, reason: string, byNetwork?: boolean): void
  /** Start a fresh attempt after a backoff. @internal */
  abstract _retry(cause: string): void
  /** A connection sent its hello. @internal */
  abstract _hello(c: Conn, h: Hello): void
  /** A connection answered its proof ping. @internal */
  abstract _pong(c: Conn): void
  /** Stop timers and listeners of the subclass. @internal */
  abstract _stopAll(): void
  /** Hand an application message to the app. @internal */
  abstract _deliver(d: string | Uint8Array): void
}
