import { LifelineError } from '../protocol/errors'
import { Code, FrameType, VERSION, closeFrame, type Frame } from '../protocol/frames'
import { helloFrame } from './hello'
import { Inbound } from './inbound'
import type { Link, SessionHost } from './link'
import type { TransportName } from './options'
import { ServerLiveness } from './liveness'
import { Outbound } from './outbound'
import type { RoomCursors } from './room-cursors'
import type { ServerSession, SessionStore } from './session'
import { carrying } from './session-api'

/**
 * @internal
 * A session's store in one process ({@link SessionStore}): its messages kept in memory, an
 * `Inbound` side (what the client sends: numbering, duplicates, uploads that overtook each other,
 * acks) and an `Outbound` side (what it is sent: batching, resend after a rewind, drain), a
 * server `Liveness`, and its links (one per kind). The app's side of it is its `ServerSession`.
 */
export class LocalSession implements SessionStore {
  /** Set once the session has ended. */
  closed = false
  _links: Partial<Record<Link['name'], Link>> = {}
  _active?: Link['name']
  /** When the client last spoke (the server's clock, `o.clock`). */
  _lastIn: number
  /** When its last link went. */
  _detachedAt: number
  /** Whether the client has spoken (the session is confirmed, PROTOCOL.md §5.2). */
  _heard = false
  /** Heartbeat interval the client asked for, ms. */
  _hb: number
  /** Protocol version the client speaks (1 understands Lifeline's own close codes as 4000-4999). */
  _version = VERSION
  readonly _outbound: Outbound
  readonly _inbound: Inbound
  readonly _liveness = new ServerLiveness()
  /** Its places in its rooms, when its client holds its room positions (PROTOCOL.md §6.5). */
  _roomCursors?: RoomCursors
  /** The room positions each kind of link's request carried, until used: where its rooms start on it. */
  private _got: Partial<Record<Link['name'], ReadonlyMap<string, number>>> = {}

  constructor(
    /** The app's side of it. */
    readonly _session: ServerSession,
    readonly _host: SessionHost<LocalSession>,
  ) {
    this._hb = _host.o.heartbeatInterval
    this._lastIn = this._detachedAt = _host.o.clock.now()
    this._outbound = new Outbound(this)
    this._inbound = new Inbound(this, _session.reliable)
  }

  get id(): string {
    return this._session.id
  }

  get reliable(): boolean {
    return this._session.reliable
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

  /** The kind of the link made active, while it is there (polling between polls too, `carrying`). */
  get _carrier(): TransportName | null {
    const a = this._active
    return carrying(a, !!a && !!this._links[a], this._lastIn, this._hb, this._host.o)
  }

  /** Messages the client has delivered so far. */
  get _received(): number {
    return this._inbound.delivered
  }

  /** Control frames waiting for a link that can take them; only while there are any. */
  get _later(): Frame[] | undefined {
    return this._outbound.later
  }

  /** Join `room` (this process's rooms check its name). */
  join(room: string): void {
    this._host.rooms.join(this, room)
  }

  leave(room: string): void {
    this._host.rooms.leave(this, room)
  }

  get rooms(): string[] {
    return this._host.rooms.of(this)
  }

  /** Its rooms have something new: write it at the end of this tick, with what else is sent in it. */
  _wake(): void {
    this._outbound.wake()
  }

  /** Queue a message the session may keep as it is (`broadcast()` copies once for all). */
  _queue(d: string | Buffer): boolean {
    return this._outbound.queue(d)
  }

  pause(): void {
    this._inbound.pause()
  }

  resume(): void {
    this._inbound.resume()
  }

  /**
   * End the session with any code, Lifeline's own included. What was sent before goes first; a
   * client away at this moment (or between polls) gets it, and then the close, when it comes back
   * (PROTOCOL.md §7.1).
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
   */
  _hello(t?: Link['name']): string {
    this._liveness.greeted(this._host.o.clock.now())
    return helloFrame(this._host.o, this.id, this._received, this._hb, t)
  }

  /** Frames from the client; see `Inbound.receive`. */
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
   * A body that overtook the one before it is answered once it is taken (`Inbound.park`).
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

  /** The last message queued for the client (`PostTarget._owed`). */
  _owed(): number {
    return this._outbound.sent
  }

  /** Hand the app one message from the client. */
  _emitMessage(d: string | Buffer, binary: boolean, seq: number): void {
    this._session._emitMessage(d, binary, seq)
  }

  /** The client has acknowledged every message up to `seq`. */
  _emitSafely(type: 'delivered', seq: number): void {
    this._session._emitSafely(type, seq)
  }

  /** `drain` and `transport` go to the app's side. */
  emit(type: 'drain'): boolean {
    return this._session.emit(type)
  }

  _protocolError(what: string): void {
    this._host.log('warn', 'protocol error:', what)
    const app = this._session
    if (app.listenerCount('error')) app.emit('error', new LifelineError('LL_ERR_PROTOCOL', what))
    this._end(Code.PROTOCOL_ERROR, 'protocol error: ' + what)
  }

  /** The session is over: links ended, bytes released, the server told. */
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
    this._session.emit('close', code, reason)
  }

  /** Write control frames now on the best link there is. */
  _control(frames: Frame[], link?: Link): void {
    this._outbound.control(frames, link)
  }

  /** A link of some kind arrived (cursor = what the client has). */
  _attach(l: Link, cursor: number, got?: ReadonlyMap<string, number>): void {
    const old = this._links[l.name]
    this._links[l.name] = l
    this._got[l.name] = got
    if (old && old != l) old.end()
    this._acked(cursor)
    if (!this._active || !this._links[this._active] || this._active == l.name) this._activate(l.name)
  }

  _detach(l: Link): void {
    if (this._links[l.name] != l) return
    delete this._links[l.name]
    // A session its client never spoke on is invisible to the app and is ended by the sweep
    // after `requestTimeout` (a racing loser, or a client cut right after the hello that will
    // resume it within that time).
    if (!Object.keys(this._links).length) this._detachedAt = this._host.o.clock.now()
  }

  /** Carry the session on this kind of link: resend everything unacknowledged on it. */
  _activate(name: Link['name']): void {
    if (this._active != name) this._session.emit('transport', name)
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

  /** Write what send() queued now rather than a tick later (after a WebSocket message's replies). */
  _flushNow(): void {
    if (this._outbound.flushing) this._flush()
  }

  _flush(): void {
    this._outbound.flush()
  }

  /** The client has everything up to `n`. */
  _acked(n: number): void {
    this._outbound.acked(n)
  }
}
