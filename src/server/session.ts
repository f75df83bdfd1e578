import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { LifelineError } from '../protocol/errors'
import { Code, FrameType, VERSION, closeFrame, type Frame } from '../protocol/frames'
import { helloFrame } from './hello'
import { Inbound } from './inbound'
import type { Link, SessionHost } from './link'
import type { TransportName } from './options'
import { ServerLiveness } from './liveness'
import { Outbound } from './outbound'
import type { RoomCursors } from './room-cursors'
import { carrying, checkClose, emitSafely, payload, type ServerSessionEvents, type SessionData } from './session-api'

export type { Link, SessionHost } from './link'

/**
 * One client's session: survives its connections, numbers and keeps what it sends until the
 * client acknowledges it (its `Outbound`), and delivers what it receives exactly once and in order
 * (its `Inbound`).
 *
 * `In` and `Out` type the messages received and sent, for the compiler only (nothing is checked
 * at run time), as the client's do: `ServerSession<Json<ToServer>, Json<ToClient>>`.
 *
 * @example
 * server.on('connection', (s) => s.on('message', (m) => s.send(m)))
 */
// \`on\`, \`once\` and \`off\` take only the events there are, each listener typed by its event: Node's
// own typing lets any name through (\`on('mesage')\` compiled).
export interface ServerSession<In extends string | Buffer = string | Buffer, Out extends SessionData = SessionData> {
  on<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
  once<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
  off<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
}
export class ServerSession<
  In extends string | Buffer = string | Buffer,
  Out extends SessionData = SessionData,
> extends EventEmitter {
  /** What `authenticate` returned, if anything. */
  data: unknown
  /** Set once the session has ended. */
  closed = false
  /**
   * Cluster mode: this node took the session over from one that died or was cut off, after the
   * app had heard of it there (reload what the app keeps for it). Always false in one process.
   */
  readonly takenOver: boolean = false
  /** @internal */ _links: Partial<Record<Link['name'], Link>> = {}
  /** @internal */ _active?: Link['name']
  /** When the client last spoke (the server's clock, `o.clock`). @internal */
  _lastIn: number
  /** When its last link went. @internal */
  _detachedAt: number
  /** Whether the client has spoken (the session is confirmed, PROTOCOL.md §5.2). @internal */
  _heard = false
  /** Heartbeat interval the client asked for, ms. @internal */
  _hb: number
  /** The socket's own address (`remoteAddress` may come from `X-Forwarded-For`). @internal */
  _peer = ''
  /** Protocol version the client speaks (1 understands Lifeline's own close codes as 4000-4999). @internal */
  _version = VERSION
  /** @internal */ readonly _outbound: Outbound
  /** @internal */ readonly _inbound: Inbound
  /** @internal */ readonly _liveness = new ServerLiveness()
  /** Its places in its rooms, when its client holds its room positions (PROTOCOL.md §6.5). @internal */
  _roomCursors?: RoomCursors
  /** The room positions each kind of link's request carried, until used: where its rooms start on it. */
  private _got: Partial<Record<Link['name'], ReadonlyMap<string, number>>> = {}

  constructor(
    /** Unguessable session id (128 random bits). */
    readonly id: string,
    /** Remote address of the request that created it (with `trustProxy`, from `X-Forwarded-For`). */
    readonly remoteAddress: string,
    /**
     * Headers of the request that created it, without those of the WebSocket handshake itself
     * (`connection`, `upgrade`, `sec-websocket-key`, `-version`, `-extensions`).
     */
    readonly headers: IncomingHttpHeaders,
    /** Origin the session is bound to ('' until a request shows one). */
    public origin: string,
    /** Whether the client asked for acknowledgements and resending (not fire-and-forget). */
    readonly reliable: boolean,
    /** @internal */ readonly _host: SessionHost<ServerSession>,
  ) {
    super()
    this._hb = _host.o.heartbeatInterval
    this._lastIn = this._detachedAt = _host.o.clock.now()
    this._outbound = new Outbound(this)
    this._inbound = new Inbound(this, reliable)
  }

  /** Bytes sent but not yet acknowledged by the client (without resume: not yet written). */
  get bufferedAmount(): number {
    return this._outbound.outbox._bytes
  }

  /**
   * Sequence number of the last message sent, 0 before the first: once `delivered` reaches it,
   * the client has everything sent so far.
   */
  get sent(): number {
    return this._outbound.sent
  }

  /**
   * Name of the transport carrying the session now, if any. Polling counts between two polls
   * too (there is a link only while a poll is held), until the client has been silent past its
   * heartbeat plus `heartbeatTimeout`, as the sweep judges a connection dead.
   */
  get transport(): TransportName | null {
    const a = this._active
    return this.closed ? null : carrying(a, !!a && !!this._links[a], this._lastIn, this._hb, this._host.o)
  }

  /** Messages the client has delivered so far. @internal */
  get _received(): number {
    return this._inbound.delivered
  }

  /** Control frames waiting for a link that can take them; only while there are any. @internal */
  get _later(): Frame[] | undefined {
    return this._outbound.later
  }

  /**
   * Queue a message for the client. Returns false, and closes the session with 3900, when the
   * unacknowledged bytes would pass `maxBufferedAmount` or the server's `maxTotalBuffered`, or
   * the unacknowledged messages `maxQueueLength`: a client that does not read cannot make the
   * server hold unbounded memory. Throws `LL_ERR_MESSAGE_TOO_BIG` for a message over
   * `maxMessageSize`, `LL_ERR_INVALID_STATE` on a closed session.
   */
  send(data: Out): boolean {
    if (this.closed) throw new LifelineError('LL_ERR_INVALID_STATE', 'send() on a closed session')
    return this._queue(payload(data))
  }

  /**
   * Join `room`: what `ll.to(room).send()` sends from now on is queued for this session too, in
   * its own sequence, so it resumes exactly once and in order like its other messages. A session
   * leaves every room when it ends. Throws `LL_ERR_INVALID_OPTION` for a room that is not a
   * non-empty string, `LL_ERR_INVALID_STATE` on a closed session.
   *
   * @example
   * ll.on('connection', (s) => s.join('room:42'))
   */
  join(room: string): void {
    if (this.closed) throw new LifelineError('LL_ERR_INVALID_STATE', 'join() on a closed session')
    this._host.rooms.join(this, room)
  }

  /** Leave `room` (nothing happens if it was not in it). */
  leave(room: string): void {
    this._host.rooms.leave(this, room)
  }

  /** Rooms the session is in. */
  get rooms(): string[] {
    return this._host.rooms.of(this)
  }

  /** Its rooms have something new: write it at the end of this tick, with what else is sent in it. @internal */
  _wake(): void {
    this._outbound.wake()
  }

  /** Queue a message the session may keep as it is (`broadcast()` copies once for all). @internal */
  _queue(d: string | Buffer): boolean {
    return this._outbound.queue(d)
  }

  /**
   * End the session for good; the client hears `code` and `reason` and does not come back. Codes:
   * 1000-1003, 1007-1014 and 3000-4999, except Lifeline's own 3900-3999 (throws
   * `LL_ERR_INVALID_OPTION`). 1001 and 1011-1013 make the client start a new session instead.
   */
  close(code = 1000, reason = ''): void {
    checkClose(code, reason)
    this._end(code, reason)
  }

  /**
   * Stop delivering messages: they are held (up to `maxBufferedAmount` bytes) and not
   * acknowledged, so the client's own send queue fills and its `send()` starts refusing. Use it
   * when what consumes the messages cannot keep up (the gateway pauses while its upstream is slow).
   */
  pause(): void {
    this._inbound.pause()
  }

  /** Deliver held messages and acknowledge them. */
  resume(): void {
    this._inbound.resume()
  }

  /**
   * End the session with any code, Lifeline's own included. What was sent before goes first; a
   * client away at this moment (or between polls) gets it, and then the close, when it comes back
   * (PROTOCOL.md §7.1). @internal
   */
  _end(code: number, reason: string): void {
    if (this.closed) return
    this._flush()
    const bye = closeFrame(code, reason, this._version)
    this._control([bye])
    // Not after an overflow: a client that did not read then will not, and the bytes would be
    // kept outside the bound they just crossed (regression test in test/server/limits.test.ts).
    const outbox = this._outbound.outbox
    const keep = this.reliable && outbox._count && code != Code.BUFFER_OVERFLOW
    const last = keep ? [this._hello(), FrameType.Seq + outbox._base, ...outbox._all(), bye] : [bye]
    this._finish(code, reason, last)
  }

  /**
   * The hello frame for a connection of transport `t` (PROTOCOL.md §5.1): a poll is never held
   * longer than `pollHold`, so its client must not expect a heartbeat less often.
   * @internal
   */
  _hello(t?: Link['name']): string {
    this._liveness.greeted(this._host.o.clock.now())
    return helloFrame(this._host.o, this.id, this._received, this._hb, t)
  }

  /** Frames from the client; see `Inbound.receive`. @internal */
  _receive(frames: Frame[], via: Link | Link['name'], replies?: Frame[]): boolean {
    this._hear()
    return this._inbound.receive(frames, via, replies)
  }

  /** The client spoke: it is there, and the session is confirmed. */
  private _hear(): void {
    this._lastIn = this._host.o.clock.now()
    this._liveness.heard(this._lastIn)
    if (!this._heard) {
      this._heard = true
      this._host.confirm(this)
    }
  }

  /**
   * A POST body's frames (its `ack` first); the response's frames, or null for a protocol error.
   * A body that overtook the one before it is answered once it is taken (`Inbound.park`). @internal
   */
  _post(frames: Frame[], ask: { ack: number; t: string }): Frame[] | null | Promise<Frame[] | null> {
    const replies: Frame[] = []
    this._acked(ask.ack)
    this._hear()
    const parked = this._inbound.park(frames, ask.t as Link['name'])
    if (parked) return parked
    if (!this._inbound.receive(frames, ask.t as Link['name'], replies)) return null
    // What the app sent from its handlers leaves on the open poll or stream before the POST is
    // answered: the client holds the reply before it reads that answer (issue 19).
    this._flushNow()
    return replies
  }

  /** The last message queued for the client (`PostTarget._owed`). @internal */
  _owed(): number {
    return this._outbound.sent
  }

  /** @internal */
  _emitMessage(d: string | Buffer, binary: boolean, seq: number): void {
    this._emitSafely('message', d, binary, { seq, redelivered: false })
  }

  /** Emit to the app's listeners from inside frame handling. @internal */
  _emitSafely<K extends 'message' | 'delivered'>(type: K, ...args: ServerSessionEvents[K]): void {
    emitSafely(this, this._host.log, type, args)
  }

  /** @internal */
  _protocolError(what: string): void {
    this._host.log('warn', 'protocol error:', what)
    if (this.listenerCount('error')) this.emit('error', new LifelineError('LL_ERR_PROTOCOL', what))
    this._end(Code.PROTOCOL_ERROR, 'protocol error: ' + what)
  }

  /** The session is over: links ended, bytes released, the server told. @internal */
  _finish(code: number, reason: string, last: Frame[] = [closeFrame(code, reason, this._version)]): void {
    if (this.closed) return
    this.closed = true
    for (const l of Object.values(this._links)) l!.end()
    this._links = {}
    this._host.reserve(-this.bufferedAmount)
    // Told while `bufferedAmount` still says what the last words hold (they stay counted).
    this._host.gone(this, code, reason, last)
    this._outbound.outbox._takeBack()
    this._inbound.release()
    this.emit('close', code, reason)
  }

  /** Write control frames now on the best link there is. @internal */
  _control(frames: Frame[], link?: Link): void {
    this._outbound.control(frames, link)
  }

  /** A link of some kind arrived (cursor = what the client has). @internal */
  _attach(l: Link, cursor: number, got?: ReadonlyMap<string, number>): void {
    const old = this._links[l.name]
    this._links[l.name] = l
    this._got[l.name] = got
    if (old && old != l) old.end()
    this._acked(cursor)
    if (!this._active || !this._links[this._active] || this._active == l.name) this._activate(l.name)
  }

  /** @internal */
  _detach(l: Link): void {
    if (this._links[l.name] != l) return
    delete this._links[l.name]
    // A session its client never spoke on is invisible to the app and is ended by the sweep
    // after `requestTimeout` (a racing loser, or a client cut right after the hello that will
    // resume it within that time).
    if (!Object.keys(this._links).length) this._detachedAt = this._host.o.clock.now()
  }

  /** Carry the session on this kind of link: resend everything unacknowledged on it. @internal */
  _activate(name: Link['name']): void {
    if (this._active != name) this.emit('transport', name)
    this._active = name
    this._outbound.rewind()
    // A link's positions are used once: a `u` on the link just made active (every new connection
    // sends one once proven) goes on from what was written since, or its rooms would start again.
    const got = this._got[name]
    if (this._roomCursors && got) this._roomCursors.activate(got)
    delete this._got[name]
    this._liveness.activated()
    this._flush()
  }

  /** Write what send() queued now rather than a tick later (after a WebSocket message's replies). @internal */
  _flushNow(): void {
    if (this._outbound.flushing) this._flush()
  }

  /** @internal */
  _flush(): void {
    this._outbound.flush()
  }

  /** The client has everything up to `n`. @internal */
  _acked(n: number): void {
    this._outbound.acked(n)
  }
}
