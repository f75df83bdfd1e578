import { Code, FrameType, isAppCloseCode, num, splitFrame, type Frame } from '../protocol/frames'
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
export class Inbound {
  readonly inbox: Inbox
  /** Messages handed to the app; acknowledgements never cover more (a held one is not yet the app's). */
  delivered = 0
  /**
   * Out-of-order POST bodies by first sequence number, with their bytes (counted in the server's
   * total). Made on the first one: most sessions never have any, and an empty Map costs ~180 bytes.
   */
  _parked?: Map<number, [Link['name'], Frame[], number]> = undefined
  /** Messages held while paused; only while there are any (a session costs less without). */
  _held?: Array<[string | Buffer, boolean]> = undefined
  _heldBytes = 0
  private _paused = false
  private _ackTimer?: NodeJS.Timeout
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
    const kind = typeof via == 'string' ? via : via.name
    let seq = link ? link.inSeq : 0
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]
      if (s.closed) return false
      if (typeof f != 'string') {
        const bytes = Buffer.isBuffer(f) ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength)
        if (!this._data(seq++, bytes, true)) return false
        continue
      }
      const type = f[0]
      if (type == FrameType.Message) {
        if (!this._data(seq++, f.slice(1), false)) return false
      } else if (type == FrameType.Batch) {
        const list = parseBatch(f)
        if (!list) return this._bad('malformed batch')
        for (const m of list) if (!this._data(seq++, m, false)) return false
      } else if (type == FrameType.Seq && num(f) >= 1) {
        // A POST whose first message is beyond what has arrived waits for the one before it.
        const n = num(f)
        if (replies && i == 0 && n > this.inbox._received + 1 && this._reliable) return this._park(n, kind, frames)
        seq = n
      } else if (type == FrameType.Use && num(f) >= 1) {
        if (num(f) > this._uses) {
          this._uses = num(f)
          s._activate(kind)
        }
      } else if (type == FrameType.Ack && num(f) >= 0) s._acked(num(f))
      else if (type == FrameType.Ping) {
        const pong = FrameType.Pong + f.slice(1)
        if (replies) replies.push(pong)
        else s._control([pong], link)
      } else if (type == FrameType.Pong) {
        // Nothing to do: any frame proves the client is there.
      } else if (type == FrameType.Close) return this._close(f)
      else return this._bad('unknown frame ' + JSON.stringify(f.slice(0, 16)))
    }
    if (link) link.inSeq = seq
    this._ackLater(replies)
    // On a WebSocket what the app sent in reply goes out in this same event, in one write (after a
    // POST, the session's `_post` does it before the POST is answered).
    if (!replies) s._flushNow()
    return true
  }

  /** The client's `c` frame: the session ends with its code. */
  private _close(f: string): boolean {
    const got = clientClose(f)
    if (typeof got == 'string') return this._bad(got)
    this._session._finish(got[0], got[1])
    return true
  }

  private _park(n: number, kind: Link['name'], frames: Frame[]): boolean {
    const host = this._session._host
    const parked = (this._parked = this._parked || new Map())
    const old = parked.get(n)
    if (!old && parked.size >= host.o.maxParkedPosts) return this._bad('too many out-of-order uploads')
    let bytes = 0
    for (const f of frames) bytes += f.length
    if (old) host.reserve(-old[2])
    if (!host.reserve(bytes)) {
      parked.delete(n)
      this._session._end(Code.BUFFER_OVERFLOW, 'buffer overflow: server over maxTotalBuffered')
      return false
    }
    parked.set(n, [kind, frames, bytes])
    return true
  }

  /** Release what parked bodies hold (the session ended). */
  release(): void {
    if (this._parked) for (const p of this._parked.values()) this._session._host.reserve(-p[2])
    this._parked = undefined
    clearTimeout(this._ackTimer)
  }

  /** One application message with sequence number `seq`. */
  private _data(seq: number, d: string | Buffer, binary: boolean): boolean {
    const s = this._session
    const o = s._host.o
    if (!seq) return this._bad('message before sequence marker')
    const n = typeof d == 'string' ? Buffer.byteLength(d) : d.length
    if (n > o.maxMessageSize) {
      s._end(Code.MESSAGE_TOO_BIG, 'message of ' + n + ' bytes exceeds ' + o.maxMessageSize)
      return false
    }
    const arrival = this.inbox._arrive(seq, n)
    if (arrival == Arrival.Duplicate) return true
    if (arrival == Arrival.Gap) return this._bad('gap: got ' + seq + ' after ' + this.inbox._received)
    if (this._paused || this._held) {
      if ((this._heldBytes += n) > o.maxBufferedAmount) {
        s._end(Code.BUFFER_OVERFLOW, 'buffer overflow: held messages over maxBufferedAmount')
        return false
      }
      ;(this._held = this._held || []).push([d, binary])
    } else this._deliver(d, binary)
    // Parked uploads that now follow on go next.
    const next = this._parked && this._parked.get(this.inbox._received + 1)
    if (next) {
      this._parked!.delete(this.inbox._received + 1)
      s._host.reserve(-next[2])
      queueMicrotask(() => !s.closed && this.receive(next[1], next[0], []))
    }
    return true
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
    else if (!this._ackTimer) this._ackTimer = setTimeout(() => this._ackNow(), ACK_DELAY)
  }

  private _ackNow(): void {
    const s = this._session
    clearTimeout(this._ackTimer)
    this._ackTimer = undefined
    if (this.inbox._pending(this.delivered) && !s.closed) s._control([FrameType.Ack + this.inbox._ack(this.delivered)])
  }

  private _bad(what: string): false {
    this._session._protocolError(what)
    return false
  }
}

/**
 * A client's `c` frame: its code and reason, or what is wrong with it. A client may close with
 * an app's code or none (1005); anything else would reach the app's close handler as if a client
 * could say it. Both kinds of session check it here. @internal
 */
export function clientClose(f: string): [code: number, reason: string] | string {
  const [c, reason] = splitFrame(f)
  const code = c ? +c : Code.NO_STATUS
  if (!(code == Code.NO_STATUS || isAppCloseCode(code))) return 'bad close code ' + JSON.stringify(c.slice(0, 16))
  return [code, reason]
}

/** The texts of an `M` frame, or undefined when it is not a JSON array of strings. @internal */
export function parseBatch(f: string): string[] | undefined {
  let list: unknown
  try {
    list = JSON.parse(f.slice(1))
  } catch (e) {
    return
  }
  return Array.isArray(list) && list.every((x) => typeof x == 'string') ? list : undefined
}
