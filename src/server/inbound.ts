import { badClientFrame, read, type FrameVisitor, type Numbered } from '../protocol/codec'
import { Code, FrameType, num, type Frame } from '../protocol/frames'
import { Arrival, Inbox } from '../protocol/inbox'
import { ACK_DELAY } from '../protocol/limits'
import type { Link, SessionHost } from './link'

/** What the incoming side needs from its session. @internal */
export interface InboundOwner {
  readonly closed: boolean
  readonly _host: SessionHost
  /** Deliver one application message to the app; `seq` is its number in the session. */
  _emitMessage(data: string | Buffer, binary: boolean, seq: number): void
  /** The client has everything up to `n` of the server's messages. */
  _acked(n: number): void
  /** Carry the session on this kind of link from now on. */
  _activate(name: Link['name']): void
  /** Write control frames now on the best link there is (`link`, if given). */
  _control(frames: Frame[], link?: Link): void
  /** Write what send() queued now. */
  _flushNow(): void
  /** End the session with one of Lifeline's own codes or a protocol error (no app-code check). */
  _end(code: number, reason: string): void
  /** The client closed the session with `code`. */
  _finish(code: number, reason: string): void
  /** Report a protocol error to the app's `error` listeners. */
  _protocolError(what: string): void
}

/**
 * @internal
 * What the client sends a session (PROTOCOL.md §6): checks its frames, numbers its messages and
 * drops duplicates (an {@link Inbox}), parks POST bodies that arrive early, holds messages while
 * paused, hands the rest to the app once and in order, and acknowledges them. Owned by a
 * `ServerSession`.
 */
export class Inbound implements FrameVisitor<Upload, Step> {
  readonly inbox: Inbox
  /** Messages handed to the app; acknowledgements never cover more (a held one is not yet the app's). */
  delivered = 0
  /**
   * Out-of-order POST bodies by first sequence number (counted in the server's total), each
   * unanswered until it is taken. Made on the first one: most sessions never have any, and an
   * empty Map costs ~180 bytes.
   */
  _parked?: Map<number, Parked> = undefined
  /** Messages held while paused; only while there are any (a session costs less without). */
  _held?: Array<[string | Buffer, boolean]> = undefined
  _heldBytes = 0
  private _paused = false
  private _ackTimer?: unknown
  /** Highest `u` seen (PROTOCOL.md §6.3). */
  private _uses = 0

  constructor(
    private readonly _session: InboundOwner,
    /** Acknowledged and in order (false: fire-and-forget, PROTOCOL.md §6.4). */
    private readonly _reliable: boolean,
  ) {
    this.inbox = new Inbox(_reliable)
  }

  pause(): void {
    this._paused = true
  }

  resume(): void {
    const s = this._session
    this._paused = false
    while (this._held && this._held.length && !this._paused && !s.closed) {
      const [d, binary] = this._held.shift()!
      this._heldBytes -= typeof d == 'string' ? Buffer.byteLength(d) : d.length
      this._deliver(d, binary)
    }
    if (this._held && !this._held.length) this._held = undefined
    if (!s.closed) this._ackLater()
  }

  /**
   * Frames from the client, in order. `replies` is set for a POST body, whose answers go in the
   * response rather than down a link. Returns false on a protocol error (the session is then
   * closed with 1002 or 1009).
   */
  receive(frames: Frame[], via: Link | Link['name'], replies?: Frame[]): boolean {
    const s = this._session
    const link = typeof via == 'string' ? undefined : via
    const up: Upload = { _seq: link ? link.inSeq : 0, _kind: link ? link.name : (via as Link['name']), _link: link }
    up._replies = replies
    for (const f of frames) {
      if (s.closed) return false
      const step = read(f, this, up)
      if (step !== undefined) return step
    }
    if (link) link.inSeq = up._seq
    this._ackLater(replies)
    // On a WebSocket what the app sent in reply goes out in this same event, in one write (after a
    // POST, the session's `_post` does it before the POST is answered).
    if (!replies) s._flushNow()
    return true
  }

  /** One application message (PROTOCOL.md §2; ../protocol/codec.ts reads the frames). */
  _message(up: Upload, d: string | Uint8Array): Step {
    if (typeof d == 'string') return this._data(up._seq++, d, false) ? undefined : false
    const bytes = Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength)
    return this._data(up._seq++, bytes, true) ? undefined : false
  }

  _messages(up: Upload, list: string[]): Step {
    for (const m of list) if (!this._data(up._seq++, m, false)) return false
  }

  /** `s<n>`: the next message's number; `u<k>`: carry the session on this kind of link; `a<n>`. */
  _number(up: Upload, type: Numbered, n: number): Step {
    if (type == FrameType.Seq) up._seq = n
    else if (type == FrameType.Use) {
      if (n > this._uses) {
        this._uses = n
        this._session._activate(up._kind)
      }
    } else this._session._acked(n)
  }

  _ping(up: Upload, token: string): Step {
    const pong = FrameType.Pong + token
    if (up._replies) up._replies.push(pong)
    else this._session._control([pong], up._link)
  }

  _pong(): Step {
    // Nothing to do: any frame proves the client is there.
  }

  /** The client's `c` frame: the session ends with its code. */
  _close(up: Upload, code: number, reason: string): Step {
    this._session._finish(code, reason)
    return true
  }

  _bad(up: Upload, f: string): Step {
    return this._fail(badClientFrame(f))
  }

  /**
   * A POST body whose first message is beyond what has arrived waits for the one before it
   * (PROTOCOL.md §4.5): its answer, a promise of the response's frames, comes once it is taken.
   * Answering it at once would let the client send the next, and a body stuck on a slow
   * connection (the first request through an L4 relay waits for the relay's own connection) would
   * leave more and more parked behind it (issue 25). Undefined when the body can go now. Past
   * `maxParkedPosts`, or past the server's `maxTotalBuffered`, or when the one before it has not
   * come within `requestTimeout`, the body is refused (HTTP 503): the client keeps what it sent
   * until it is acknowledged, and sends it again.
   */
  park(frames: Frame[], kind: Link['name']): Promise<Frame[] | null> | undefined {
    const first = frames[0]
    const n = typeof first == 'string' && first[0] == FrameType.Seq ? num(first) : 0
    if (!this._reliable || !(n > this.inbox._received + 1)) return
    const host = this._session._host
    const parked = (this._parked = this._parked || new Map())
    const old = parked.get(n)
    if (!old && parked.size >= host.o.maxParkedPosts)
      return Promise.reject(new Error('more than maxParkedPosts ' + host.o.maxParkedPosts + ' uploads waiting'))
    let bytes = 0
    for (const f of frames) bytes += f.length
    if (!host.reserve(bytes)) return Promise.reject(new Error('server over maxTotalBuffered'))
    // The same body again (a retry): the newer copy waits, the older is answered with nothing.
    if (old) this._unpark(n, old).answer([])
    return new Promise((answer, refuse) => {
      // The one before it may never come (its request stalled on the way, and the client waits
      // on both): refused after requestTimeout, the client sends both again on a new connection.
      const timer = host.o.clock.setTimeout(() => {
        if (parked.get(n) != p) return
        this._unpark(n, p)
        refuse(new Error('the upload before it did not come within requestTimeout'))
      }, host.o.requestTimeout)
      host.o.clock.unref(timer)
      const p: Parked = { kind, frames, bytes, answer, timer }
      parked.set(n, p)
    })
  }

  /** Take parked body `n` out, its bytes released; its POST is still to be answered. */
  private _unpark(n: number, p: Parked): Parked {
    this._session._host.o.clock.clearTimeout(p.timer)
    this._parked!.delete(n)
    this._session._host.reserve(-p.bytes)
    return p
  }

  /** Release what parked bodies hold, and answer them (the session ended: the client hears it elsewhere). */
  release(): void {
    if (this._parked) for (const [n, p] of this._parked) this._unpark(n, p).answer([])
    this._parked = undefined
    this._session._host.o.clock.clearTimeout(this._ackTimer)
  }

  /** One application message with sequence number `seq`. */
  private _data(seq: number, d: string | Buffer, binary: boolean): boolean {
    const s = this._session
    const o = s._host.o
    if (!seq) return this._fail('message before sequence marker')
    const n = typeof d == 'string' ? Buffer.byteLength(d) : d.length
    if (n > o.maxMessageSize) {
      s._end(Code.MESSAGE_TOO_BIG, 'message of ' + n + ' bytes exceeds ' + o.maxMessageSize)
      return false
    }
    const arrival = this.inbox._arrive(seq, n)
    if (arrival == Arrival.Duplicate) return true
    if (arrival == Arrival.Gap) return this._fail('gap: got ' + seq + ' after ' + this.inbox._received)
    if (this._paused || this._held) {
      if ((this._heldBytes += n) > o.maxBufferedAmount) {
        s._end(Code.BUFFER_OVERFLOW, 'buffer overflow: held messages over maxBufferedAmount')
        return false
      }
      ;(this._held = this._held || []).push([d, binary])
    } else this._deliver(d, binary)
    // A parked upload that now follows on goes next, and its POST is answered.
    const following = this.inbox._received + 1
    const next = this._parked && this._parked.get(following)
    if (next)
      queueMicrotask(() => {
        if (!this._parked || this._parked.get(following) != next) return
        this._unpark(following, next)
        next.answer(s.closed ? [] : this._take(next))
      })
    return true
  }

  /** A parked body's frames, now in order: the response's frames, or null for a protocol error. */
  private _take(p: Parked): Frame[] | null {
    const replies: Frame[] = []
    if (!this.receive(p.frames, p.kind, replies)) return null
    this._session._flushNow()
    return replies
  }

  private _deliver(d: string | Buffer, binary: boolean): void {
    this.delivered++
    const stats = this._session._host.stats
    if (stats) stats.in(d.length)
    this._session._emitMessage(d, binary, this.delivered)
  }

  /** Acknowledge in a POST reply at once, otherwise after a short delay or 128 messages / 1 MiB. */
  private _ackLater(replies?: Frame[]): void {
    if (replies) replies.push(FrameType.Ack + this.inbox._ack(this.delivered))
    else if (!this.inbox._pending(this.delivered) || !this._reliable) return
    else if (this.inbox._due(this.delivered)) this._ackNow()
    else if (!this._ackTimer) this._ackTimer = this._session._host.o.clock.setTimeout(() => this._ackNow(), ACK_DELAY)
  }

  private _ackNow(): void {
    const s = this._session
    s._host.o.clock.clearTimeout(this._ackTimer)
    this._ackTimer = undefined
    if (this.inbox._pending(this.delivered) && !s.closed) s._control([FrameType.Ack + this.inbox._ack(this.delivered)])
  }

  private _fail(what: string): false {
    this._session._protocolError(what)
    return false
  }
}

/**
 * What one call of {@link Inbound.receive} reads: the kind of link, the link itself if a
 * WebSocket, the sequence number of the next message, and for a POST body, its answer's frames.
 */
interface Upload {
  _seq: number
  _kind: Link['name']
  _link?: Link
  _replies?: Frame[]
}

/** What a frame's method returns: go on (nothing), or stop, false for a protocol error or a bound. */
type Step = boolean | void

/** A POST body that arrived before the one it follows, and how to answer its POST once it is taken. */
interface Parked {
  kind: Link['name']
  frames: Frame[]
  /** What it holds of the server's `maxTotalBuffered`. */
  bytes: number
  answer: (replies: Frame[] | null) => void
  /** Refuses it (HTTP 503) if the one before it has not come within `requestTimeout`. */
  timer: unknown
}
