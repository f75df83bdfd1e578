import { Backlog } from './backlog'
import { Code, FrameType, type Frame } from '../protocol/frames'
import { Outbox } from '../protocol/outbox'
import type { Link, SessionHost } from './link'
import type { ServerLiveness } from './liveness'
import type { RoomCursors } from './room-cursors'

/** What the outgoing side needs from its session. @internal */
export interface OutboundOwner {
  readonly closed: boolean
  /** Acknowledged and resent (false: fire-and-forget, PROTOCOL.md §6.4). */
  readonly reliable: boolean
  readonly _host: SessionHost
  /** The session's links by kind, and which kind carries it. */
  readonly _links: Partial<Record<Link['name'], Link>>
  readonly _active?: Link['name']
  readonly _liveness: ServerLiveness
  /** Its places in its rooms, when its client holds its room positions (PROTOCOL.md §6.5). */
  readonly _roomCursors?: RoomCursors
  /** Write what send() queued; called a tick after the first `send()` of a batch. */
  _flushNow(): void
  /** End the session with one of Lifeline's own codes. */
  _end(code: number, reason: string): void
  /** The client has acknowledged every message up to `seq` (the `delivered` event). */
  _emitSafely(type: 'delivered', seq: number): void
  /** Unacknowledged bytes fell back below a quarter of `maxBufferedAmount`. */
  emit(type: 'drain'): boolean
}

/**
 * @internal
 * What a session sends the client (PROTOCOL.md §6.1, §6.2): numbers and keeps its messages until
 * acknowledged (an {@link Outbox}) within the session's and the server's bounds, batches what is
 * sent in one tick into one write, keeps control frames that no link can take yet, restarts the
 * sequence from the oldest unacknowledged message on a link newly carrying the session, and says
 * when the backlog has drained. Owned by a `ServerSession`.
 */
export class Outbound {
  readonly outbox = new Outbox<string | Buffer>()
  /** When something was last written to the client (the sweep pings after a heartbeat's silence). */
  lastOut: number
  /**
   * Control frames waiting for a link that can take them (polling between requests); only while
   * there are any.
   */
  later?: Frame[] = undefined
  /** A flush is due at the end of this tick. */
  flushing = false
  /** Its bounds and when the app hears `drain`. */
  private readonly _backlog: Backlog
  /** The next flush starts with a sequence marker (the link is new or was switched to). */
  private _resend = false

  constructor(private readonly _session: OutboundOwner) {
    this.lastOut = _session._host.o.clock.now()
    this._backlog = new Backlog(_session._host.o)
  }

  /** Sequence number of the last message queued, 0 before the first. */
  get sent(): number {
    return this.outbox._base + this.outbox._count - 1
  }

  /** Queue a message the session may keep as it is; false (and the session ended) past a bound. */
  queue(d: string | Buffer): boolean {
    const s = this._session
    const n = this._backlog.size(d)
    // Without resume the queue is what waits for a link (a client between polls, or away): bounded alike.
    if (!this._backlog.fits(this.outbox._bytes, this.outbox._count, n) || !s._host.reserve(n)) {
      s._end(Code.BUFFER_OVERFLOW, 'buffer overflow: client is not reading')
      return false
    }
    this.outbox._push(d, n)
    if (s._host.stats) s._host.stats.out(n)
    this._backlog.grew(this.outbox._bytes)
    this.wake()
    return true
  }

  /** Flush at the end of this tick (a message was queued, or a room of the session has one). */
  wake(): void {
    if (this.flushing) return
    this.flushing = true
    // Everything sent in one tick goes out together: a batch frame instead of many. (Not
    // queueMicrotask: it makes an AsyncResource per call, in a profile nearly half of send().)
    Promise.resolve(this._session).then(flushLater)
  }

  /** Write control frames now on the best link there is (`link`, if given), or keep them for one. */
  control(frames: Frame[], link?: Link): void {
    const s = this._session
    const l = link || s._links[s._active!] || Object.values(s._links)[0]
    if (l && l.ready()) {
      l.write(frames)
      this.lastOut = s._host.o.clock.now()
    } else (this.later = this.later || []).push(...frames)
  }

  /** The active link is new or was switched to: everything unacknowledged goes out on it again. */
  rewind(): void {
    this.outbox._rewind()
    this._resend = true
  }

  /** Write what waits (kept control frames, then messages not yet on the link) on the active link. */
  flush(): void {
    this.flushing = false
    const s = this._session
    const l = s._links[s._active!]
    if (!l || !l.ready() || s.closed) return
    const frames: Frame[] = this.later || []
    this.later = undefined
    const batch = this.outbox._take()
    // After (re)activation the sequence restarts from the oldest unacknowledged message.
    if (batch && this._resend) {
      frames.push(FrameType.Seq + batch.from)
      this._resend = false
    }
    if (batch) frames.push(...batch.frames)
    // Room messages go after the session's own, by offset; the session's next needs its `s` again.
    const rooms = s._roomCursors
    if (rooms) {
      if (batch) rooms.own()
      if (rooms.take(frames)) this._resend = true
    }
    if (!frames.length) return
    l.write(frames)
    const now = (this.lastOut = s._host.o.clock.now())
    if (!s.reliable) this._freed(this.outbox._forgetSent())
    else if (batch) s._liveness.sent(this.outbox._inFlight, now)
  }

  /** The client has everything up to `n`. */
  acked(n: number): void {
    const s = this._session
    if (!s.reliable) return
    // A cursor beyond what was sent is clamped: a client confused by a restart, not an attack.
    const base = this.outbox._base
    const freed = this.outbox._acknowledge(Math.min(n, this.sent))
    if (freed > 0) {
      s._liveness.progress(this.outbox._inFlight, s._host.o.clock.now())
      this._freed(freed)
    }
    // By number, not bytes: an empty message frees none and is delivered all the same.
    if (this.outbox._base > base) s._emitSafely('delivered', this.outbox._base - 1)
  }

  /** `bytes` no longer held (acknowledged, or written without resume). */
  private _freed(bytes: number): void {
    const s = this._session
    s._host.reserve(-bytes)
    if (this._backlog.shrank(this.outbox._bytes)) s.emit('drain')
  }
}

/** By way of the session: every write of what `send()` queued goes through its `_flush`. */
function flushLater(s: OutboundOwner): void {
  s._flushNow()
}
