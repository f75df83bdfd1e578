// A session's links, its outgoing queue and closing; what the client sends it is in incoming.ts.
import type { IncomingHttpHeaders } from 'node:http'
import { T, VERSION, closeFrame, type Frame, type Hello } from '../protocol/frames'
import { LifelineError } from '../protocol/errors'
import { Incoming } from './incoming'
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

/** Hooks the session needs from its server (internal; in the published types because the constructor names it). */
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
export class ServerSession extends Incoming {
  /** Bytes sent but not yet acknowledged by the client (without resume: not yet written). */
  bufferedAmount = 0
  /** What `authenticate` returned, if anything. */
  data: unknown
  /** Set once the session has ended. */
  closed = false
  /** @internal */ _links: Partial<Record<Link['name'], Link>> = {}
  /** @internal */ _active?: Link['name']
  /** @internal */ _lastOut = Date.now()
  /** @internal */ _detachedAt = Date.now()
  /** @internal */ _hb: number
  /** The socket's own address (`remoteAddress` may come from `X-Forwarded-For`). @internal */
  _peer = ''
  /** Control frames waiting for a link that can take them (polling between requests); only while there are any. @internal */
  _later?: Frame[] = undefined
  private _out: Entry[] = []
  private _base = 1
  private _sent = 0
  private _drainWanted = false
  /** The next flush starts with a sequence marker (the link is new or was switched to). */
  private _resend = false
  private _flushing = false

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
    /** @internal */ readonly _host: SessionHost,
  ) {
    super()
    this._hb = _host.o.heartbeatInterval
  }

  /** Name of the transport carrying the session now, if any. */
  get transport(): string | null {
    return this._active && this._links[this._active] ? this._active : null
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
      // Everything sent in one tick goes out together: a batch frame instead of many. (Not
      // queueMicrotask: it makes an AsyncResource per call, in a profile nearly half of send().)
      Promise.resolve(this).then(flushLater)
    }
    return true
  }

  /**
   * End the session for good; the client hears `code` and `reason` and does not come back.
   * Codes 1001, 1011-1013, 4000-4002 and 4029 make the client start a new session instead.
   */
  close(code = 1000, reason = ''): void {
    if (this.closed) return
    // What was sent before close() goes first; a client away at this moment (or between polls)
    // gets it, and then the close, when it comes back (PROTOCOL.md "Closing").
    this._flush()
    const bye = closeFrame(code, reason)
    this._control([bye])
    // Not after an overflow: a client that did not read then will not, and the bytes would be
    // kept outside the bound they just crossed (regression test in test/server/limits.test.ts).
    const keep = this.reliable && this._out.length && code != 4000
    const last = keep ? [this._hello(), T.Seq + this._base, ...this._frames(0), bye] : [bye]
    this._finish(code, reason, last)
  }

  /**
   * The hello frame for a connection of transport `t` (PROTOCOL.md §5.1): a poll is never held
   * longer than `pollHold`, so its client must not expect a heartbeat less often.
   * @internal
   */
  _hello(t?: Link['name']): string {
    const o = this._host.o
    const h: Hello = { v: VERSION, sid: this.id, ack: this._received, hb: t == 'polling' ? Math.min(o.pollHold, this._hb) : this._hb, max: o.maxMessageSize }
    return T.Open + JSON.stringify(h)
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
    if (this._parked) for (const p of this._parked.values()) this._host.reserve(-p[2])
    this._parked = undefined
    this._host.gone(this, code, reason, last)
    this.emit('close', code, reason)
  }

  /** Write control frames now on the best link there is. @internal */
  _control(frames: Frame[], link?: Link): void {
    const l = link || this._links[this._active!] || Object.values(this._links)[0]
    if (l && l.ready()) {
      l.write(frames)
      this._lastOut = Date.now()
    } else (this._later = this._later || []).push(...frames)
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

  /** Carry the session on this kind of link: resend everything unacknowledged on it. @internal */
  _activate(name: Link['name']): void {
    if (this._active != name) this.emit('transport', name)
    this._active = name
    this._sent = 0
    this._resend = true
    this._flush()
  }

  /** Write what send() queued now rather than a tick later (after a WebSocket message's replies). @internal */
  _flushNow(): void {
    if (this._flushing) this._flush()
  }

  /** @internal */
  _flush(): void {
    this._flushing = false
    const l = this._links[this._active!]
    if (!l || !l.ready() || this.closed) return
    const frames: Frame[] = this._later || []
    this._later = undefined
    // After (re)activation the sequence restarts from the oldest unacknowledged message.
    if (this._resend && this._sent < this._out.length) {
      frames.push(T.Seq + (this._base + this._sent))
      this._resend = false
    }
    this._frames(this._sent, frames)
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

  /** Frames for the queued messages from index `from`, consecutive texts batched, added to `frames`. */
  private _frames(from: number, frames: Frame[] = []): Frame[] {
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

}

function flushLater(s: ServerSession): void {
  s._flushNow()
}
