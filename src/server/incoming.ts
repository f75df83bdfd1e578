import { EventEmitter } from 'node:events'
import { T, num, splitFrame, type Frame } from '../protocol/frames'
import { LifelineError } from '../protocol/errors'
import type { Link, ServerSession, ServerSessionEvents, SessionHost } from './session'

/**
 * The incoming half of a session, what the client sends the server: checks its frames, numbers
 * its messages and drops duplicates, parks POST bodies that arrive early, holds messages while
 * paused, delivers the rest to the app once and in order, and acknowledges them (PROTOCOL.md §6).
 * `session.ts` holds the links, the outgoing queue and closing. Users only see it through
 * {@link ServerSession}.
 */
export abstract class Incoming extends EventEmitter<ServerSessionEvents> {
  /** @internal */ _heard = 0
  /** @internal */ _lastIn = Date.now()
  /**
   * Out-of-order POST bodies by first sequence number, with their bytes (counted in the server's
   * total). Made on the first one: most sessions never have any, and an empty Map costs ~180 bytes.
   * @internal
   */
  _parked?: Map<number, [Link['name'], Frame[], number]> = undefined
  /** @internal */ _ackT?: NodeJS.Timeout
  /** Highest sequence number accepted from the client. */
  private _rcv = 0
  /** Messages handed to the app; acknowledgements never cover more. */
  private _dlv = 0
  private _ackd = 0
  /** Bytes received since the last ack. */
  private _rb = 0
  private _paused = false
  /** Messages held while paused; only while there are any (a session costs less without). */
  private _held?: Array<[string | Buffer, boolean]> = undefined
  private _heldBytes = 0
  private _useK = 0

  /** Messages the client has delivered so far. @internal */
  get _received(): number {
    return this._dlv
  }

  /**
   * Stop delivering messages: they are held (up to `maxBufferedAmount` bytes) and not
   * acknowledged, so the client's own send queue fills and its `send()` starts refusing. Use it
   * when what consumes the messages cannot keep up (the gateway pauses while its upstream is slow).
   */
  pause(): void {
    this._paused = true
  }

  /** Deliver held messages and acknowledge them. */
  resume(): void {
    this._paused = false
    while (this._held && this._held.length && !this._paused && !this.closed) {
      const [d, binary] = this._held.shift()!
      this._heldBytes -= typeof d == 'string' ? Buffer.byteLength(d) : d.length
      this._emitMessage(d, binary)
    }
    if (this._held && !this._held.length) this._held = undefined
    if (!this.closed) this._ackLater()
  }

  /**
   * Frames from the client, in order. `post` is set for a POST body, whose replies go in the
   * response rather than down the link. Returns false on a protocol error (the session is then
   * closed with 1002 or 1009).
   * @internal
   */
  _receive(frames: Frame[], via: Link | Link['name'], replies?: Frame[]): boolean {
    this._lastIn = Date.now()
    if (!this._heard) {
      this._heard = 1
      // Only ever the base of a ServerSession, which is what the host is told about.
      this._host.confirm(this as unknown as ServerSession)
    }
    const link = typeof via == 'string' ? undefined : via
    const kind = typeof via == 'string' ? via : via.name
    let seq = link ? link.inSeq : 0
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]
      if (this.closed) return false
      if (typeof f != 'string') {
        if (!this._data(seq++, Buffer.isBuffer(f) ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength), true)) return false
        continue
      }
      const ty = f[0]
      // Numbers only where a frame is one, not scanned in every message's text.
      const n = ty == T.Seq || ty == T.Use || ty == T.Ack ? num(f) : NaN
      if (ty == T.Message) {
        if (!this._data(seq++, f.slice(1), false)) return false
      } else if (ty == T.Batch) {
        let list: unknown
        try {
          list = JSON.parse(f.slice(1))
        } catch (e) {}
        if (!Array.isArray(list) || !list.every((x) => typeof x == 'string')) return this._bad('malformed batch')
        for (const m of list) if (!this._data(seq++, m, false)) return false
      } else if (ty == T.Seq && n >= 1) {
        // A POST whose first message is beyond what has arrived waits for the one before it.
        if (replies && i == 0 && n > this._rcv + 1 && this.reliable) return this._park(n, kind, frames)
        seq = n
      } else if (ty == T.Use && n >= 1) {
        if (n > this._useK) {
          this._useK = n
          this._activate(kind)
        }
      } else if (ty == T.Ack && n >= 0) this._acked(n)
      else if (ty == T.Ping) {
        const pong = T.Pong + f.slice(1)
        if (replies) replies.push(pong)
        else this._control([pong], link)
      } else if (ty == T.Pong) {
        // Nothing to do: any frame proves the client is there.
      } else if (ty == T.Close) {
        const [c, reason] = splitFrame(f)
        // What a client may close with (1005: no code); anything else would reach the app's
        // close handler as if a client could say it.
        const code = c ? +c : 1005
        if (!(code == 1000 || code == 1005 || (code >= 3000 && code <= 4999 && code % 1 == 0))) return this._bad('bad close code ' + JSON.stringify(c.slice(0, 16)))
        this._finish(code, reason)
        return true
      } else return this._bad('unknown frame ' + JSON.stringify(f.slice(0, 16)))
    }
    if (link) link.inSeq = seq
    this._ackLater(replies)
    // On a WebSocket what the app sent in reply goes out in this same event, in one write. (A POST
    // answers first: its reply lets the client start its next upload.)
    if (!replies) this._flushNow()
    return true
  }

  private _park(n: number, kind: Link['name'], frames: Frame[]): boolean {
    const parked = (this._parked = this._parked || new Map())
    const old = parked.get(n)
    if (!old && parked.size >= this._host.o.maxParkedPosts) return this._bad('too many out-of-order uploads')
    let bytes = 0
    for (const f of frames) bytes += f.length
    if (old) this._host.reserve(-old[2])
    if (!this._host.reserve(bytes)) {
      parked.delete(n)
      this.close(4000, 'buffer overflow: server over maxTotalBuffered')
      return false
    }
    parked.set(n, [kind, frames, bytes])
    return true
  }

  /** One application message with sequence number `seq`. */
  private _data(seq: number, d: string | Buffer, binary: boolean): boolean {
    if (!seq) return this._bad('message before sequence marker')
    const n = typeof d == 'string' ? Buffer.byteLength(d) : d.length
    if (n > this._host.o.maxMessageSize) {
      this.close(1009, 'message of ' + n + ' bytes exceeds ' + this._host.o.maxMessageSize)
      return false
    }
    if (seq <= this._rcv && this.reliable) return true
    if (seq > this._rcv + 1 && this.reliable) return this._bad('gap: got ' + seq + ' after ' + this._rcv)
    this._rcv = seq
    this._rb += n
    if (this._paused || this._held) {
      if ((this._heldBytes += n) > this._host.o.maxBufferedAmount) {
        this.close(4000, 'buffer overflow: held messages over maxBufferedAmount')
        return false
      }
      ;(this._held = this._held || []).push([d, binary])
    } else this._emitMessage(d, binary)
    // Parked uploads that now follow on go next.
    const next = this._parked && this._parked.get(this._rcv + 1)
    if (next) {
      this._parked!.delete(this._rcv + 1)
      this._host.reserve(-next[2])
      queueMicrotask(() => !this.closed && this._receive(next[1], next[0], []))
    }
    return true
  }

  private _emitMessage(d: string | Buffer, binary: boolean): void {
    this._dlv++
    try {
      this.emit('message', d, binary)
    } catch (e) {
      // An exception in the app's handler must not tear the protocol state apart.
      this._host.log('warn', 'message handler threw:', e)
    }
  }

  /** Acknowledge in a POST reply at once, otherwise after a short delay or 128 messages. */
  private _ackLater(replies?: Frame[]): void {
    if (replies) replies.push(T.Ack + (this._ackd = this._dlv)), (this._rb = 0)
    else if (this._dlv == this._ackd || !this.reliable) return
    // As the client does: big messages are acknowledged sooner (it keeps them until then).
    else if (this._dlv - this._ackd >= 128 || this._rb > 1048576) this._ackNow()
    else if (!this._ackT) this._ackT = setTimeout(() => this._ackNow(), 100)
  }

  private _ackNow(): void {
    clearTimeout(this._ackT)
    this._ackT = undefined
    this._rb = 0
    if (this._dlv != this._ackd && !this.closed) this._control([T.Ack + (this._ackd = this._dlv)])
  }

  private _bad(what: string): false {
    this._host.log('warn', 'protocol error:', what)
    if (this.listenerCount('error')) this.emit('error', new LifelineError('LL_ERR_PROTOCOL', what))
    this.close(1002, 'protocol error: ' + what)
    return false
  }

  // What it needs from the rest of the session (ServerSession documents the public ones).
  /** @internal */
  abstract closed: boolean
  /** @internal */
  abstract readonly reliable: boolean
  /** @internal */
  abstract readonly _host: SessionHost
  /** @internal */
  abstract close(code?: number, reason?: string): void
  /** @internal */
  abstract _finish(code: number, reason: string): void
  /** Write control frames now on the best link there is. @internal */
  abstract _control(frames: Frame[], link?: Link): void
  /** Write what send() queued now. @internal */
  abstract _flushNow(): void
  /** Carry the session on this kind of link from now on. @internal */
  abstract _activate(name: Link['name']): void
  /** The client has everything up to `n`. @internal */
  abstract _acked(n: number): void
}
