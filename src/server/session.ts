import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { T, closeFrame, num, splitFrame, type Frame } from '../protocol/frames'
import { LifelineError } from '../protocol/errors'
import type { ServerResolved } from './options'

/** A transport's connection as the session sees it (one per kind at a time). @internal */
export interface Link {
  readonly name: 'websocket' | 'stream' | 'polling'
  /** Whether it can take frames now (a poll needs a request waiting). */
  ready(): boolean
  /** Write frames to the client. */
  write(frames: Frame[]): void
  /** Stop it; the client will come back on another. */
  end(): void
  /** Sequence number of the next application message arriving on it (WebSocket only). */
  inSeq: number
}

/** Hooks the session needs from its server. @internal */
export interface SessionHost {
  o: ServerResolved
  /** The client spoke for the first time: the session is real (emits `connection`). */
  confirm(s: ServerSession): void
  /** Account bytes across sessions; false when the total bound would be crossed. */
  reserve(n: number): boolean
  /** The session ended; `last` is what a late request for it is answered with. */
  gone(s: ServerSession, code: number, reason: string, last: Frame[]): void
  log(level: 'debug' | 'info' | 'warn', ...args: unknown[]): void
}

type Entry = { d: string | Buffer; n: number }

/** Events of a {@link ServerSession}. */
export interface ServerSessionEvents {
  message: [data: string | Buffer, isBinary: boolean]
  close: [code: number, reason: string]
  transport: [name: string]
  error: [error: LifelineError]
  /** Unacknowledged bytes fell below a quarter of `maxBufferedAmount` after passing half of it. */
  drain: []
}

/**
 * One client's session: survives its connections, numbers and keeps what it sends until the
 * client acknowledges it, and delivers what it receives exactly once and in order.
 *
 * @example
 * server.on('connection', (s) => s.on('message', (m) => s.send(m)))
 */
export class ServerSession extends EventEmitter<ServerSessionEvents> {
  /** Bytes sent but not yet acknowledged by the client (without resume: not yet written). */
  bufferedAmount = 0
  /** What `authenticate` returned, if anything. */
  data: unknown
  /** Set once the session has ended. */
  closed = false
  /** @internal */ _links: Partial<Record<Link['name'], Link>> = {}
  /** @internal */ _active?: Link['name']
  /** @internal */ _heard = 0
  /** @internal */ _lastIn = Date.now()
  /** @internal */ _lastOut = Date.now()
  /** @internal */ _detachedAt = Date.now()
  /** @internal */ _hb: number
  /** Out-of-order POST bodies by first sequence number, with their bytes (counted in the server's total). @internal */
  _parked = new Map<number, [Link['name'], Frame[], number]>()
  /** Control frames waiting for a link that can take them (polling between requests). @internal */
  _later: Frame[] = []
  /** @internal */ readonly _created = Date.now()
  private _out: Entry[] = []
  private _base = 1
  private _sent = 0
  /** Highest sequence number accepted from the client. */
  private _rcv = 0
  /** Messages handed to the app; acknowledgements never cover more. */
  private _dlv = 0
  private _ackd = 0
  private _paused = false
  private _held: Array<[string | Buffer, boolean]> = []
  private _heldBytes = 0
  private _drainWanted = false
  private _useK = 0
  /** The next flush starts with a sequence marker (the link is new or was switched to). */
  private _resend = false
  private _flushing = false
  private _ackT?: NodeJS.Timeout

  constructor(
    /** Unguessable session id (128 random bits). */
    readonly id: string,
    /** Remote address of the request that created it. */
    readonly remoteAddress: string,
    /** Headers of the request that created it. */
    readonly headers: IncomingHttpHeaders,
    /** Origin the session is bound to ('' until a request shows one). */
    public origin: string,
    /** Whether the client asked for acknowledgements and resending (not fire-and-forget). */
    readonly reliable: boolean,
    /** @internal */ readonly _host: SessionHost,
  ) {
    super()
    this._hb = _host.o.heartbeatInterval
  }

  /** Name of the transport carrying the session now, if any. */
  get transport(): string | null {
    return this._active && this._links[this._active] ? this._active : null
  }

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
    while (this._held.length && !this._paused && !this.closed) {
      const [d, binary] = this._held.shift()!
      this._heldBytes -= typeof d == 'string' ? Buffer.byteLength(d) : d.length
      this._emitMessage(d, binary)
    }
    if (!this.closed) this._ackLater()
  }

  /**
   * Queue a message for the client. Returns false, and closes the session with 4000, when the
   * unacknowledged bytes would pass `maxBufferedAmount` or the server's `maxTotalBuffered`, or
   * the unacknowledged messages `maxQueueLength`: a client that does not read cannot make the
   * server hold unbounded memory.
   */
  send(data: string | Buffer | ArrayBuffer | Uint8Array): boolean {
    if (this.closed) throw new LifelineError('LL_ERR_INVALID_STATE', 'send() on a closed session')
    const d = typeof data == 'string' ? data : Buffer.isBuffer(data) ? data : Buffer.from(data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    const n = typeof d == 'string' ? Buffer.byteLength(d) : d.length
    const o = this._host.o
    if (n > o.maxMessageSize) throw new LifelineError('LL_ERR_MESSAGE_TOO_BIG', 'message of ' + n + ' bytes exceeds maxMessageSize ' + o.maxMessageSize)
    // Counted in messages too: a queue of empty messages costs memory and no bytes. Without
    // resume the queue is what waits for a link (a client between polls, or away): bounded alike.
    if (this.bufferedAmount + n > o.maxBufferedAmount || this._out.length >= o.maxQueueLength || !this._host.reserve(n)) {
      this.close(4000, 'buffer overflow: client is not reading')
      return false
    }
    this._out.push({ d, n })
    this.bufferedAmount += n
    if (this.bufferedAmount > o.maxBufferedAmount / 2) this._drainWanted = true
    if (!this._flushing) {
      this._flushing = true
      // Everything sent in one tick goes out together: a batch frame instead of many.
      queueMicrotask(() => this._flush())
    }
    return true
  }

  /**
   * End the session for good; the client hears `code` and `reason` and does not come back.
   * Codes 1001/1012/1013 and 4000-4002 make the client start a new session instead.
   */
  close(code = 1000, reason = ''): void {
    if (this.closed) return
    // What was sent before close() goes first; a client away at this moment (or between polls)
    // gets it, and then the close, when it comes back (PROTOCOL.md "Closing").
    this._flush()
    const bye = closeFrame(code, reason)
    this._control([bye])
    const hello = T.Open + JSON.stringify({ v: 1, sid: this.id, ack: this._dlv, hb: this._hb, max: this._host.o.maxMessageSize })
    // Not after an overflow: a client that did not read then will not, and the bytes would be
    // kept outside the bound they just crossed (regression test in test/server/limits.test.ts).
    const keep = this.reliable && this._out.length && code != 4000
    const last = keep ? [hello, T.Seq + this._base, ...this._frames(0), bye] : [bye]
    this._finish(code, reason, last)
  }

  /** @internal */
  _finish(code: number, reason: string, last: Frame[] = [closeFrame(code, reason)]): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this._ackT)
    for (const l of Object.values(this._links)) l!.end()
    this._links = {}
    this._host.reserve(-this.bufferedAmount)
    this._out = []
    for (const p of this._parked.values()) this._host.reserve(-p[2])
    this._parked.clear()
    this._host.gone(this, code, reason, last)
    this.emit('close', code, reason)
  }

  /** Write control frames now on the best link there is. @internal */
  _control(frames: Frame[], link?: Link): void {
    const l = link || this._links[this._active!] || Object.values(this._links)[0]
    if (l && l.ready()) {
      l.write(frames)
      this._lastOut = Date.now()
    } else this._later.push(...frames)
  }

  /** A link of some kind arrived (cursor = what the client has). @internal */
  _attach(l: Link, cursor: number): void {
    const old = this._links[l.name]
    this._links[l.name] = l
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
    if (!Object.keys(this._links).length) this._detachedAt = Date.now()
  }

  /** Carry the session on this kind of link: resend everything unacknowledged on it. */
  private _activate(name: Link['name']): void {
    if (this._active != name) this.emit('transport', name)
    this._active = name
    this._sent = 0
    this._resend = true
    this._flush()
  }

  /** @internal */
  _flush(): void {
    this._flushing = false
    const l = this._links[this._active!]
    if (!l || !l.ready() || this.closed) return
    const frames: Frame[] = this._later.splice(0)
    // After (re)activation the sequence restarts from the oldest unacknowledged message.
    if (this._resend && this._sent < this._out.length) {
      frames.push(T.Seq + (this._base + this._sent))
      this._resend = false
    }
    frames.push(...this._frames(this._sent))
    this._sent = this._out.length
    if (!frames.length) return
    l.write(frames)
    this._lastOut = Date.now()
    if (!this.reliable) {
      this._base += this._out.length
      this._out = []
      this._sent = 0
      this._freed(this.bufferedAmount)
    }
  }

  /** Frames for the queued messages from index `from`, consecutive texts batched. */
  private _frames(from: number): Frame[] {
    const frames: Frame[] = []
    let texts: string[] = []
    let chars = 0
    const batch = () => {
      if (texts.length) frames.push(texts.length == 1 ? T.Message + texts[0] : T.Batch + JSON.stringify(texts))
      texts = []
      chars = 0
    }
    for (let i = from; i < this._out.length; i++) {
      const d = this._out[i].d
      if (typeof d == 'string') {
        if (chars + d.length > 16384) batch()
        texts.push(d)
        chars += d.length
      } else {
        batch()
        frames.push(d)
      }
    }
    batch()
    return frames
  }

  /** The client has everything up to `n`. @internal */
  _acked(n: number): void {
    const k = Math.min(n - this._base + 1, this._out.length)
    if (k <= 0 || !this.reliable) return
    let bytes = 0
    for (const e of this._out.splice(0, k)) bytes += e.n
    this._base += k
    this._sent = Math.max(0, this._sent - k)
    this._freed(bytes)
  }

  /** `bytes` no longer held (acknowledged, or written without resume). */
  private _freed(bytes: number): void {
    this.bufferedAmount -= bytes
    this._host.reserve(-bytes)
    if (this._drainWanted && this.bufferedAmount <= this._host.o.maxBufferedAmount / 4) {
      this._drainWanted = false
      this.emit('drain')
    }
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
      this._host.confirm(this)
    }
    const link = typeof via == 'string' ? undefined : via
    const kind = typeof via == 'string' ? via : via.name
    let seq = link ? link.inSeq : 0
    const reply = (f: Frame) => (replies ? replies.push(f) : this._control([f], link))
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
      else if (ty == T.Ping) reply(T.Pong + f.slice(1))
      else if (ty == T.Pong) {
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
    return true
  }

  private _park(n: number, kind: Link['name'], frames: Frame[]): boolean {
    const old = this._parked.get(n)
    if (!old && this._parked.size >= this._host.o.maxParkedPosts) return this._bad('too many out-of-order uploads')
    let bytes = 0
    for (const f of frames) bytes += f.length
    if (old) this._host.reserve(-old[2])
    if (!this._host.reserve(bytes)) {
      this._parked.delete(n)
      this.close(4000, 'buffer overflow: server over maxTotalBuffered')
      return false
    }
    this._parked.set(n, [kind, frames, bytes])
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
    if (this._paused || this._held.length) {
      if ((this._heldBytes += n) > this._host.o.maxBufferedAmount) {
        this.close(4000, 'buffer overflow: held messages over maxBufferedAmount')
        return false
      }
      this._held.push([d, binary])
    } else this._emitMessage(d, binary)
    // Parked uploads that now follow on go next.
    const next = this._parked.get(this._rcv + 1)
    if (next) {
      this._parked.delete(this._rcv + 1)
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
    if (replies) replies.push(T.Ack + (this._ackd = this._dlv))
    else if (this._dlv == this._ackd || !this.reliable) return
    else if (this._dlv - this._ackd >= 128) this._ackNow()
    else if (!this._ackT) this._ackT = setTimeout(() => this._ackNow(), 100)
  }

  private _ackNow(): void {
    clearTimeout(this._ackT)
    this._ackT = undefined
    if (this._dlv != this._ackd && !this.closed) this._control([T.Ack + (this._ackd = this._dlv)])
  }

  private _bad(what: string): false {
    this._host.log('warn', 'protocol error:', what)
    if (this.listenerCount('error')) this.emit('error', new LifelineError('LL_ERR_PROTOCOL', what))
    this.close(1002, 'protocol error: ' + what)
    return false
  }
}
