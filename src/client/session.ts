import { LifelineError, type ErrorCode } from '../protocol/errors'
import { Code, FrameType, isResumable, type Hello } from '../protocol/frames'
import { Outbox } from '../protocol/outbox'
import { backoff } from './backoff'
import { realClock } from './clock'
import { Connection, Stage } from './connection'
import { transportContext } from './context'
import type { Data, LifelineEvents, State } from './events'
import { Liveness } from './liveness'
import { Level, say } from '../protocol/log'
import { DEFAULTS, type LifelineOptions, type Resolved } from './options'
import { Receiver } from './receive'
import { Sender, type Queued } from './send'
import type { Selector, SelectorFactory } from './select'
import { Statuses } from './statuses'
import type { TransportClass, TransportContext } from './transports/transport'

/** How far back, ms, the server's protocol errors count toward `maxProtocolErrors`. */
const PROTOCOL_ERROR_WINDOW = 60000

/** What the session needs from the public object it serves. @internal */
export interface SessionHost {
  /** Emit an event to the app (`on<type>` and listeners). */
  _emit(type: keyof LifelineEvents, event: object): void
  /** Hand an application message to the app. */
  _deliver(data: string | Uint8Array): void
  /** The session ended for good: let go of page listeners. */
  _stop(): void
}

/**
 * @internal
 * A client session: the state machine under the public class. It owns what it sends until the
 * server acknowledges it (an {@link Outbox}, which its {@link Sender} fills and empties), what it
 * receives (a {@link Receiver}), the connections it tries, the one carrying the session, a
 * {@link Selector} that decides which transport to try and when, and the {@link Liveness} watch.
 * Reconnects with backoff, resumes, or starts anew (PROTOCOL.md §5-§9). State changes only in
 * {@link Session._setState}.
 */
export class Session {
  _state: State = 'connecting'
  /** Session id, once the server has given one. */
  _sessionId: string | null = null
  /** Round trip of the last proof ping, ms. */
  _rtt = 0
  readonly _options: Resolved
  /** Transports to use, in order of preference. */
  readonly _classes: TransportClass[]
  /** What is sent, kept until the server acknowledges it: {@link Session._sender} queues to it and frees from it. */
  readonly _outbox = new Outbox<Queued>()
  /** What goes out: bounds, hand-overs, numbering, acknowledgements. */
  readonly _sender: Sender
  /** What arrives: frames read, messages delivered once and in order, acknowledged. */
  readonly _receiver: Receiver
  /** Connections open now: candidates of an attempt, an upgrade test, the active one. */
  readonly _conns: Connection[] = []
  /** The connection carrying the session. */
  _active?: Connection
  /** Candidates left in this attempt. */
  _queue: TransportClass[] = []
  /** Why the next activation happens (reported in the `transport` event). */
  _why = 'preferred'
  readonly _selector: Selector
  /** Whether the connection carrying the session is alive; the sender tells it what goes out and what is freed. */
  readonly _liveness: Liveness
  /** HTTP statuses that are not Lifeline's own refusals: told, counted, acted on. */
  readonly _statuses = new Statuses(this)
  private readonly _ctx: TransportContext
  /** Failed attempts in a row. */
  private _attempts = 0
  private _retryTimer: unknown
  /** `u` frames sent in this session (PROTOCOL.md §6.3). */
  private _uses = 0
  /** Why the previous session ended, if one did: the next new one is a reset. */
  private _ended?: string
  /** When the server ended a session as a protocol error, within the last minute. */
  private _protocolErrors: number[] = []
  /** The token of this attempt, from the `token` option. */
  _token?: string

  constructor(
    private readonly _host: SessionHost,
    /** The endpoint, absolute, as `http(s)://`. */
    readonly _url: string,
    options: LifelineOptions,
    available: TransportClass[],
    selector: SelectorFactory,
  ) {
    const o = (this._options = Object.assign({ clock: realClock }, DEFAULTS, options) as Resolved)
    this._sender = new Sender(this, _host)
    this._receiver = new Receiver(this, _host)
    this._ctx = transportContext(this)
    const named = (x: string | TransportClass) =>
      typeof x == 'string' ? available.filter((a) => a.transportName == x)[0] : x
    this._classes = (o.transports || available)
      .map((x) => named(x) || this._fail('LL_ERR_INVALID_OPTION', 'unknown transport ' + x))
      .filter((C) => C.isSupported(this._ctx))
    if (!this._classes.length) this._fail('LL_ERR_NO_TRANSPORT', 'no supported transport')
    this._liveness = new Liveness(this)
    this._selector = selector(this)
  }

  /** Queue a message; it goes out at once when a connection carries the session. */
  _send(data: Queued): void {
    if (this._state == 'closing' || this._state == 'closed')
      this._fail('LL_ERR_INVALID_STATE', 'send() after close(): the connection is ' + this._state)
    this._sender._send(data)
  }

  /**
   * Close for good: queued messages go first, then the goodbye with `code` and `reason`; `close`
   * fires once it is out, or after `heartbeatTimeout` if it cannot get out.
   */
  _close(code: number, reason: string): void {
    const c = this._active
    const done = () => Promise.resolve().then(() => this._finish(code, reason, true))
    if (this._state == 'closing' || this._state == 'closed') return
    this._setState('closing', 'close()')
    if (!c) return void done()
    this._sender._flush()
    c._transport.removeAllListeners('close')
    c._transport.once('close', done)
    this._sender._control(c, FrameType.Close + code + ' ' + reason, true)
    this._timer(done, this._options.heartbeatTimeout)
  }

  /** Start a connection attempt: get a token if one is needed, then try transports. */
  _connect(): void {
    const tok = this._options.token
    this._clear(this._retryTimer)
    Promise.resolve(typeof tok == 'function' ? tok() : tok).then(
      (token) => {
        this._token = token
        if (this._active || this._state == 'closing' || this._state == 'closed') return
        this._queue = this._selector._order()
        this._launchNext()
      },
      (e) => {
        this._error('LL_ERR_INVALID_OPTION', 'token() failed: ' + e)
        this._retry('token-failed')
      },
    )
  }

  /** Open the next candidate of this attempt. */
  _launchNext(): void {
    const C = this._queue.shift()
    if (!C) return
    const prev = this._conns[this._conns.length - 1]
    // Told first: why the one before has not won yet is what this one's URL reports (`why`).
    this._selector._launched(prev, C)
    this._launch(C)
  }

  /** Open a connection of class `C` for the current session (or a new one). */
  _launch(C: TransportClass): Connection {
    const t = new C(this._ctx)
    t.sid = this._sessionId || undefined
    const c = new Connection(t, t.sid)
    c._startedAt = this._now()
    c._deadline = this._timer(() => this._lose(c, c._stalled()), this._options.connectTimeout)
    t.on('open', () => {
      if (c._stage == Stage.Started) c._stage = Stage.Connected
    })
    t.on('message', (f) => this._receiver._frame(c, f))
    t.on('batch', (frames, then) => this._receiver._batch(c, frames, then))
    t.on('close', (why, err) => {
      if (why == 'protocol') this._error('LL_ERR_PROTOCOL', 'bad data: ' + (err && err.message))
      // An HTTP status names itself, at any stage.
      const status = /\d$/.test(why)
      if (status) this._statuses._heard(t.name, why)
      if (this._conns.indexOf(c) >= 0)
        this._lose(c, t.name + '-' + (c._stage > Stage.Started || status ? why : 'refused'), true)
    })
    this._conns.push(c)
    this._log('try', t.name, c._sid ? 'resume' : 'new')
    t.open()
    return c
  }

  /** A connection said hello: server→client works. The proof ping tests the other way (§8.2). */
  _hello(c: Connection, h: Hello): void {
    // A stream reopened after the server recycled it says hello again: same session, carry on.
    if (c._hello)
      return h.sid == c._hello.sid ? this._sender._acked(h.ack, c) : this._bad(c, 'hello for another session')
    // Opened for another session than the current one: say goodbye so the server drops it.
    // (`!=` holds undefined and null equal: no id on either side is a match.)
    if (c._sid != this._sessionId || (c._sid && h.sid != c._sid)) return this._drop(c, true)
    c._hello = h
    c._stage = Stage.Greeted
    this._statuses._missing = {}
    this._sender._serverMax = h.max
    c._transport._maxPost = this._sender._maxPost = h.post || Infinity
    c._sid = c._transport.sid = h.sid
    if (!this._sessionId) {
      this._sessionId = h.sid
      if (this._ended) {
        const unacked = this._takeUnacked(true)
        this._say(Level.Warn, ['reset:', this._ended])
        this._setState('connecting', 'reset')
        this._host._emit('reset', { reason: this._ended, unacked })
      }
    }
    this._sender._acked(h.ack, c)
    c._probedAt = this._now()
    this._sender._control(c, FrameType.Ping)
  }

  /** A connection answered its proof ping: it carries traffic both ways. */
  _pong(c: Connection): void {
    if (c == this._active) this._liveness._progress()
    if (c._stage != Stage.Greeted || this._conns.indexOf(c) < 0) return
    c._stage = Stage.Proven
    c._provenAt = this._now()
    this._rtt = c._provenAt - c._probedAt
    this._clear(c._deadline)
    this._log('proven', c._name, this._rtt)
    this._queue = []
    // A proven connection carrying the session already: this one is the better transport tested
    // in the background.
    if (this._active && this._active._stage == Stage.Proven) this._why = 'upgrade'
    this._activate(c, this._why)
    this._why = 'preferred'
    this._selector._proven(c)
  }

  /** Make `c` the connection that carries the session: everything unacknowledged goes again on it. */
  _activate(c: Connection, reason: string): void {
    const prev = this._active
    this._active = c
    this._outbox._rewind()
    c._transport.send([FrameType.Use + ++this._uses, FrameType.Seq + this._outbox._base], this._outbox._base)
    this._liveness._activated()
    this._sender._flush()
    if (prev) this._drop(prev)
    this._host._emit('transport', { name: c._name, reason, previous: prev ? prev._name : null })
    // Off the preferred transport because of what happened to it, not by memory or choice: the
    // network interferes, which the app's operators want to hear of without `debug`.
    const preferred = this._classes[0].transportName
    if (c._name != preferred && reason != 'remembered' && reason != 'upgrade')
      this._say(Level.Warn, ['fallback to', c._name + ':', reason])
    if (this._state != 'open') {
      const first = this._state == 'connecting'
      this._setState('open', reason)
      if (first) this._host._emit('open', { reset: !!this._ended })
    }
    const held = c._held || []
    c._held = undefined
    for (const [seq, d, room] of held) if (c == this._active) this._receiver._accept(c, seq, d, room)
  }

  /** The network is back or the page woke: retry now, or check the connection. */
  _wake(): void {
    if (this._active) this._liveness._check()
    else if (this._attempts && !this._conns.length && this._state != 'closed') this._connect()
  }

  /** Send a ping on `c` (a liveness check). */
  _ping(c: Connection): void {
    this._sender._control(c, FrameType.Ping)
  }

  /** Forget a connection; `goodbye` tells its server it is not needed. */
  _drop(c: Connection, goodbye?: boolean): void {
    const i = this._conns.indexOf(c)
    if (i >= 0) this._conns.splice(i, 1)
    this._clear(c._deadline)
    if (goodbye) this._sender._control(c, FrameType.Close + '1000 not needed', true)
    else c._transport.close()
  }

  /** Forget every connection: none carries the session any more. */
  private _dropAll(): void {
    this._active = undefined
    for (const x of this._conns.slice()) this._drop(x)
  }

  /** Tear a connection down and react to its end (`byNetwork`: the network ended it, not this side). */
  _lose(c: Connection, reason: string, byNetwork?: boolean): void {
    this._drop(c)
    this._lost(c, reason, byNetwork)
  }

  private _lost(c: Connection, reason: string, byNetwork?: boolean): void {
    const told = this._selector._lost(c, reason, byNetwork)
    if (!told) return
    const proven = c._stage == Stage.Proven
    const why = proven && told.byNetwork ? c._name + '-dropped' : told.reason
    this._log('lost', c._name, reason)
    // A connection that carried the session forward, or stayed up a while, was a success: the next
    // attempt starts without delay. One that only came and went (a server that accepts and drops at
    // once) was not, or it would cause a reconnect storm.
    if (proven && (c._progressed || this._now() - c._provenAt >= this._options.minUptime)) this._attempts = 0
    if (c == this._active) {
      this._dropAll()
      this._retry(why)
    } else if (!this._active) {
      this._why = why
      if (this._queue.length) this._launchNext()
      else if (!this._conns.length) this._retry(why)
    }
  }

  /** Schedule the next attempt, or give up after `maxRetries`. */
  _retry(cause: string): void {
    const o = this._options
    if (this._state == 'closing' || this._state == 'closed') return
    this._queue = []
    this._selector._retrying()
    if (this._state != 'connecting') this._setState('reconnecting', cause)
    const end = this._attempts >= o.maxRetries ? cause : this._statuses._wrongPath()
    if (end) {
      this._say(Level.Warn, ['gave up:', end])
      return this._finish(Code.ABNORMAL, end, false)
    }
    const delay = this._attempts ? backoff(this._attempts - 1, o) : 0
    this._host._emit('reconnecting', { attempt: ++this._attempts, delay, cause })
    this._clear(this._retryTimer)
    this._retryTimer = this._timer(() => this._connect(), delay)
  }

  /** A malformed frame: report it, drop that connection, recover on another. */
  _bad(c: Connection, what: string): void {
    this._receiver._deliverDue()
    this._error('LL_ERR_PROTOCOL', what)
    this._lose(c, 'protocol-error')
  }

  /** The server ended the session (`c` frame, PROTOCOL.md §7.1). */
  _serverClose(c: Connection, code: number, reason: string): void {
    const why = 'session-closed-' + code
    if (c._hello && c._hello.sid != this._sessionId) return this._drop(c)
    // A spare connection (an upgrade test, a racing candidate) turned away while another carries
    // the session, say by a server process that does not have it: only the spare goes.
    if (this._active && c != this._active) return this._lose(c, why)
    if (!isResumable(code) && !this._outlives(code)) {
      // Refused or ended by the server for a reason of its own (an origin or `authenticate`
      // refusal is 1008); an app's own codes, and 1000, are the app's business.
      if (code != Code.NORMAL && code < 3000) this._say(Level.Warn, ['closed:', code, reason])
      return this._finish(code, reason, true)
    }
    // Lifeline's own codes (expired, overflowed, server going away): start a new session. A server
    // that merely does not know the session is up, so that is retried at once. A refused first
    // connection had no session to lose, nor had one that never opened (its hello came, its proof
    // was lost on the way, and the server let the unconfirmed session go): no reset then.
    if (this._sessionId && this._state != 'connecting') this._ended = why
    this._sessionId = null
    if (code == Code.SESSION_EXPIRED) this._attempts = 0
    this._dropAll()
    this._retry(why)
  }

  /**
   * Whether a session the server ended with `code` is replaced by a new one rather than closed. A
   * protocol error on an established session may be the network's doing (uploads reordered by a
   * relay made a server end sessions, issue 25): it resets, each one in a row after a longer
   * backoff, until it is the `maxProtocolErrors`-th within a minute.
   */
  private _outlives(code: number): boolean {
    if (code != Code.PROTOCOL_ERROR || !this._sessionId) return false
    const now = this._now()
    const recent = (this._protocolErrors = this._protocolErrors.filter((t) => now - t < PROTOCOL_ERROR_WINDOW))
    recent.push(now)
    this._attempts = Math.max(this._attempts, recent.length - 1)
    return recent.length < this._options.maxProtocolErrors
  }

  /**
   * Take back messages never acknowledged, as the app sent them, and number afresh (PROTOCOL.md
   * §7.2). With `keepUnsent`, messages that never left stay queued for the new session.
   */
  _takeUnacked(keepUnsent?: boolean): Data[] {
    this._receiver._inbox._reset()
    this._receiver._rooms.clear()
    const gone = this._outbox._takeBack(keepUnsent)
    return gone.map((d) => (d instanceof Uint8Array ? (d.buffer as ArrayBuffer) : d))
  }

  /** End for good: emit `close` once. */
  _finish(code: number, reason: string, wasClean: boolean): void {
    if (this._state == 'closed') return
    this._dropAll()
    this._receiver._stop()
    this._clear(this._retryTimer)
    this._liveness._stop()
    this._selector._stop()
    this._host._stop()
    this._setState('closed', 'close-' + code)
    this._host._emit('close', { code, reason, wasClean, unacked: this._takeUnacked() })
  }

  /** The one place state changes. */
  _setState(current: State, cause: string): void {
    const previous = this._state
    if (previous == current) return
    this._state = current
    this._say(Level.Info, ['state', previous, '->', current, cause])
    this._host._emit('state', { previous, current, cause })
  }

  /** Emit an `error`; log it at `level`. */
  _error(code: ErrorCode, message: string, level = Level.Error): void {
    this._say(level, [code, message])
    this._host._emit('error', { error: new LifelineError(code, message), message })
  }

  /** Throw a {@link LifelineError}: misuse of the API. */
  _fail(code: ErrorCode, message: string): never {
    throw new LifelineError(code, message)
  }

  /** A decision, at `debug`. */
  _log(...args: unknown[]): void {
    this._say(Level.Debug, args)
  }

  /** Log at `level` if `logLevel` (or `debug`) lets it through. */
  _say(level: Level, args: unknown[]): void {
    const o = this._options
    say(o.logger === undefined ? console : o.logger, o.debug ? 'debug' : o.logLevel, level, args)
  }

  _timer(fn: () => void, ms: number): unknown {
    return this._options.clock.setTimeout(fn, ms)
  }

  _clear(id: unknown): void {
    this._options.clock.clearTimeout(id)
  }

  _now(): number {
    return this._options.clock.now()
  }
}
