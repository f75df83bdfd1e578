import EventEmitter from 'eventemitter3'
import { T, isHello, num, splitFrame, type Frame, type Hello } from '../protocol/frames'
import { utf8Length } from '../protocol/utf8'
import { realClock } from './clock'
import { LifelineError, type ErrorCode } from '../protocol/errors'
import type { Data, LifelineEvents, State } from './events'
import { DEFAULTS, type LifelineOptions, type Resolved } from './options'
import type { Conn } from './session'
import type { Transport, TransportContext } from './transports/transport'

type Entry = { d: string | Uint8Array | Blob; n: number }

/**
 * The message half of a session: numbers what the app sends, keeps it until the server
 * acknowledges it, batches it onto the transport; numbers what arrives, drops duplicates,
 * acknowledges (PROTOCOL.md §6). `session.ts` manages the connections under it. Not exported
 * from the package; not marked internal either, as the published types of `Lifeline` extend it.
 */
export abstract class Messages extends EventEmitter<LifelineEvents> {
  /** Current state. */
  state: State = 'connecting'
  /** Session id, once the server has given one. */
  sessionId: string | null = null
  /** Bytes sent but not yet acknowledged by the server. */
  bufferedAmount = 0
  /** @internal */ _o: Resolved
  /** @internal */ _ctx: TransportContext
  /** The connection carrying the session. @internal */ _act?: Conn
  /** Token for the next connection. @internal */ _token?: string
  private _out: Entry[] = []
  /** Sequence number of `_out[0]`; index in it of the next to put on the transport. @internal */
  _base!: number
  /** @internal */ _sent!: number
  /** Highest sequence number ever put on a transport. */
  private _hi!: number
  private _rcv!: number
  private _ackd!: number
  /** Bytes (text: characters) received since the last ack. */
  private _rb = 0
  /** @internal */ _ackT: unknown
  private _flushing?: boolean

  constructor(
    /** The endpoint, absolute, as `http(s)://`. @internal */ public readonly _url: string,
    options: LifelineOptions,
  ) {
    super()
    // Numbering starts as after a reset.
    this._takeUnacked()
    const o = (this._o = Object.assign({ clock: realClock }, DEFAULTS, options) as Resolved)
    const g = typeof globalThis != 'undefined' ? globalThis : self
    this._ctx = {
      url: (t: Transport, opening?: boolean) => this._query(t, opening),
      WebSocket: o.WebSocket || g.WebSocket,
      fetch: o.fetch !== undefined ? o.fetch || undefined : g.fetch && g.fetch.bind(g),
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
    if (!(typeof d == 'string' || d instanceof Uint8Array)) (d.arrayBuffer ? d.arrayBuffer() : new Response(d).arrayBuffer()).then((b) => ((e.d = new Uint8Array(b)), this._flush()))
    // A task's first message goes out at once (a reply waits for no code after send()), the rest together.
    if (!this._flushing) this._flush(), Promise.resolve().then(() => this._flush(), (this._flushing = true) as never)
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

  /** The server has everything up to `n`: forget it. `c` said so, and is dropped if it lies. @internal */
  _acked(n: number, c = this._act): void {
    const k = n - this._base + 1
    if (k > this._out.length) return this._bad(c, 'ack beyond what was sent')
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
    // splice clamps the count to [0, length].
    const gone = this._out.splice(0, keepUnsent ? this._hi - this._base + 1 : this._out.length)
    this._sent = this._rcv = this._ackd = this._hi = 0
    this._base = 1
    return gone.map((e) => ((this.bufferedAmount -= e.n), e.d instanceof Uint8Array ? (e.d.buffer as ArrayBuffer) : e.d))
  }

  /** Handle one frame from connection `c`. @internal */
  _frame(c: Conn, f: Frame): void {
    if (typeof f != 'string') return this._data(c, f)
    const ty = f[0]
    const body = f.slice(1)
    let n: number
    let x: any
    if (ty == T.Message) this._data(c, body)
    // Numbers only where a frame is one (not scanned in every message's text).
    else if ((ty == T.Seq || ty == T.Ack) && (n = num(f)) >= 0) ty == T.Seq ? (c.seq = n) : this._acked(n, c)
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
      else if (ty == T.Open && isHello(x)) this._hello(c, x)
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
    // Ack after 128 messages or ~1 MB (the server keeps them), or after the first: 100 ms later on
    // a WebSocket, 5 s over HTTP, where an ack is a whole POST (any request's URL carries one).
    if (this._rcv - this._ackd > 127 || (this._rb += d.length) > 1048576) this._ack()
    else if (!this._ackT) this._ackT = this._set(() => this._ack(), c.t.name == 'websocket' ? 100 : 5e3)
  }

  /** Acknowledge what arrived and count bytes afresh, as a request's URL does (a poll's always has). */
  private _ack(): void {
    const c = this._act
    this._clear(this._ackT)
    this._ackT = 0
    if (c && this._rcv != this._ackd && this._o.resume && c.t.name != 'polling') c.t.send([T.Ack + ((this._rb = 0), (this._ackd = this._rcv))], this._next())
  }

  /** Sequence number the next new message will get. @internal */
  _next(): number {
    return this._base + this._sent
  }

  /** The query every request carries (PROTOCOL.md §1); its cursor is an ack, as one sent alone (_ack). */
  private _query(t: Transport, opening?: boolean): string {
    const tok = this._token
    return (
      this._url +
      (this._url.indexOf('?') < 0 ? '?' : '&') +
      'v=1&t=' +
      t.name +
      '&ack=' +
      ((this._rb = 0), (this._ackd = this._rcv)) +
      (t.sid ? '&sid=' + t.sid : '') +
      (opening ? '&o=1&hb=' + this._hbAsk() + (tok ? '&token=' + encodeURIComponent(tok) : '') : '') +
      (this._o.resume ? '' : '&r=0')
    )
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
    const l = o.logger === undefined ? console : o.logger
    if (o.debug && l) l.debug('[lifeline]', ...args)
  }

  /** A malformed frame. @internal */
  abstract _bad(c: Conn | undefined, what: string): void
  /** @internal */
  abstract _hello(c: Conn, h: Hello): void
  /** @internal */
  abstract _pong(c: Conn): void
  /** @internal */
  abstract _serverClose(c: Conn, code: number, reason: string): void
  /** Heartbeat interval to ask for. @internal */
  abstract _hbAsk(): number
  /** Hand an application message to the app. @internal */
  abstract _deliver(d: string | Uint8Array): void
}

/** An app handler's exception, thrown again in a fresh task: seen in the console, harmless here. */
function rethrow(err: unknown): void {
  setTimeout(() => {
    throw err
  })
}
