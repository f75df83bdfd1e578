import type { ErrorCode } from '../protocol/errors'
import { Code, FrameType, isHello, num, splitFrame, type Frame, type Hello } from '../protocol/frames'
import { Arrival, Inbox } from '../protocol/inbox'
import { ACK_DELAY, STREAM_ACK_DELAY } from '../protocol/limits'
import type { Connection } from './connection'
import type { Liveness } from './liveness'
import type { Resolved } from './options'
import type { Sender } from './send'

/** What the receive path needs from the session: what it reads, and where each kind of frame goes. */
export interface ReceiveHost {
  readonly _options: Resolved
  readonly _sessionId: string | null
  /** The connection carrying the session, if one does. */
  readonly _active?: Connection
  /** The send path: `a` frames are for it, and it numbers the frames this side answers with. */
  readonly _sender: Pick<Sender, '_acked' | '_control'>
  /** `w` frames are for it: what the server has for the client. */
  readonly _liveness: Pick<Liveness, '_owed'>
  /** A malformed frame: report it, drop `c`, recover on another. */
  _bad(c: Connection, what: string): void
  /** `c` said hello (`o` frame). */
  _hello(c: Connection, h: Hello): void
  /** `c` answered its proof ping. */
  _pong(c: Connection): void
  /** The server ended the session (`c` frame). */
  _serverClose(c: Connection, code: number, reason: string): void
  _error(code: ErrorCode, message: string): void
  _timer(fn: () => void, ms: number): unknown
  _clear(id: unknown): void
}

/** Where delivered messages go: the app; and room resets (`roomreset`). */
export interface Delivery {
  _deliver(data: string | Uint8Array): void
  _emit(type: 'roomreset', event: { room: string }): void
}

/**
 * The client's receive path (PROTOCOL.md §2, §6): reads each frame a connection brings and sends it
 * where it belongs; hands application messages to the app once and in order, counted in an
 * {@link Inbox}; acknowledges them often enough, but never one per message.
 */
export class Receiver {
  readonly _inbox: Inbox
  /**
   * Per room, the offset of the last message received from it (PROTOCOL.md §6.5): sent on every
   * request (`g`), so a room resumes from there on any connection. Room messages are outside the
   * session's sequence and never acknowledged.
   */
  readonly _rooms = new Map<string, number>()
  private _ackTimer: unknown
  /** Messages of a batch counted but not yet handed to the app (see {@link Receiver._batch}). */
  private _due?: Array<string | Uint8Array>

  constructor(
    private readonly _session: ReceiveHost,
    private readonly _app: Delivery,
  ) {
    this._inbox = new Inbox(_session._options.resume)
  }

  /**
   * Frames that came together on `c`: counted first, then `then()` (the next poll goes out,
   * its cursor counting them), then handed to the app, in order, in this same task.
   */
  _batch(c: Connection, frames: Frame[], then: () => void): void {
    const due: Array<string | Uint8Array> = (this._due = [])
    for (const f of frames) if (!c._transport._done) this._frame(c, f)
    this._due = undefined
    if (!c._transport._done) then()
    for (const d of due) this._app._deliver(d)
  }

  /** Hand over what a batch has counted so far: anything else the app may see comes after it. */
  _deliverDue(): void {
    if (this._due) for (const d of this._due.splice(0)) this._app._deliver(d)
  }

  /** Handle one frame from connection `c` (PROTOCOL.md §2). */
  _frame(c: Connection, f: Frame): void {
    const s = this._session
    if (typeof f != 'string') return this._data(c, f)
    const type = f[0]
    const body = f.slice(1)
    if (type == FrameType.Message) return this._data(c, body)
    if (type != FrameType.Batch) this._deliverDue()
    const inRoom = type == FrameType.Room || type == FrameType.RoomReset
    if (type == FrameType.Seq || type == FrameType.Ack || type == FrameType.Owed || inRoom) {
      // Numbers are parsed only where a frame is one, not scanned in every message's text. `r<n>
      // <room>` starts a room run; `x<n> <room>`: the room goes on from n, what was missed is gone.
      const [n, room] = splitFrame(f)
      const k = num(type + n)
      if (!(k >= 0) || inRoom != !!room) return s._bad(c, 'bad frame ' + f.slice(0, 16))
      if (type == FrameType.Seq || type == FrameType.Room) {
        c._nextSeq = k
        c._room = room
        // `r0 <room>`: the session is not in the room (any more), so its position goes and `g` stays
        // small (PROTOCOL.md §6.5). In order with the connection's messages, held as they are.
        if (room && !k) this._take(c, 0, '', room)
      } else if (type == FrameType.Ack) s._sender._acked(k, c)
      else if (type == FrameType.Owed) {
        if (c == s._active) s._liveness._owed(k)
      } else {
        this._rooms.set(room, k - 1)
        this._app._emit('roomreset', { room })
      }
    } else if (type == FrameType.Ping) s._sender._control(c, FrameType.Pong + body)
    else if (type == FrameType.Pong) s._pong(c)
    else if (type == FrameType.Close) {
      const [code, text] = splitFrame(f)
      s._serverClose(c, +code || Code.NO_STATUS, text)
    } else if (type == FrameType.Error) {
      const [code, text] = splitFrame(f)
      s._error('LL_ERR_SERVER', code + ': ' + text)
    } else this._json(c, type, body)
  }

  /** A batch (`M`) or a hello (`o`): JSON bodies. */
  private _json(c: Connection, type: string, body: string): void {
    let x: any
    try {
      x = JSON.parse(body)
    } catch (e) {
      // Malformed: reported below like any bad frame.
    }
    if (type == FrameType.Batch && Array.isArray(x) && x.every((m) => typeof m == 'string')) {
      // One that was bad ends the connection: the rest of the batch is not looked at.
      for (const m of x) if (!c._transport._done) this._data(c, m)
    } else if (type == FrameType.Open && isHello(x)) this._session._hello(c, x)
    else this._session._bad(c, 'bad frame ' + (type + body).slice(0, 16))
  }

  /** An application message arrived on `c`: deliver it once, in order. */
  private _data(c: Connection, d: string | Uint8Array): void {
    const s = this._session
    if (!c._hello || !c._nextSeq) return s._bad(c, 'message before hello')
    const seq = c._nextSeq++
    if (c._hello.sid == s._sessionId) this._take(c, seq, d, c._room)
  }

  /**
   * Nothing reaches the app before `open` or while no transport carries the session. Held ones
   * are not counted: if `c` is dropped unproven, the server still has them and sends them again.
   */
  private _take(c: Connection, seq: number, d: string | Uint8Array, room: string): void {
    if (this._session._active) return this._accept(c, seq, d, room)
    c._held = c._held || []
    c._held.push([seq, d, room])
  }

  /**
   * Message `seq` of the session, or offset `seq` of `room`, arrived on `c` while a connection
   * carries the session: deliver it once, in order.
   */
  _accept(c: Connection, seq: number, d: string | Uint8Array, room?: string): void {
    const s = this._session
    if (room) {
      // `r0`: only from the connection carrying the session. One from a connection given up may be
      // older than a rejoin on the new one, and without its position the room would start again.
      if (!seq) {
        if (c == s._active) this._rooms.delete(room)
        return
      }
      // The server skips offsets only with an `x` frame or for latest values: anything past the position is next.
      if (seq <= (this._rooms.get(room) || 0)) return
      this._rooms.set(room, seq)
    } else {
      const arrival = this._inbox._arrive(seq, d.length)
      if (arrival == Arrival.Duplicate) return
      if (arrival == Arrival.Gap) return s._bad(c, 'gap after ' + this._inbox._received)
    }
    if (c == s._active) c._progressed = true
    if (this._due) this._due.push(d)
    else this._app._deliver(d)
    if (room) return
    if (this._inbox._due()) this._ack()
    else if (!this._ackTimer)
      this._ackTimer = s._timer(() => this._ack(), c._transport.isSocket ? ACK_DELAY : STREAM_ACK_DELAY)
  }

  /** Acknowledge what arrived, on the connection carrying the session (a poll's URL always does). */
  private _ack(): void {
    const s = this._session
    const c = s._active
    s._clear(this._ackTimer)
    this._ackTimer = 0
    if (!c || !this._inbox._pending() || !s._options.resume || c._transport.pollsCursor) return
    s._sender._control(c, FrameType.Ack + this._inbox._ack())
  }

  /** The session ended: no acknowledgement is due any more. */
  _stop(): void {
    this._session._clear(this._ackTimer)
  }
}
