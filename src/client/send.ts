import { LifelineError } from '../protocol/errors'
import { HANDOVER_BYTES, HANDOVER_MESSAGES } from '../protocol/limits'
import type { Outbox } from '../protocol/outbox'
import { utf8Length } from '../protocol/utf8'
import type { Connection } from './connection'
import type { LifelineEvents } from './events'
import type { Resolved } from './options'

/** A message as queued: text, bytes, or a `Blob` still being read to bytes. */
export type Queued = string | Uint8Array | Blob

/** What the send path needs from the session. */
export interface SendHost {
  readonly _options: Resolved
  /** What is sent and kept until the server acknowledges it. */
  readonly _outbox: Outbox<Queued>
  /** The connection carrying the session, if one does. */
  readonly _active?: Connection
  /** The liveness watch: told when messages go out and when an acknowledgement frees some. */
  readonly _liveness: { _sent(): void; _progress(): void }
  /** A connection lied (acknowledged what was never sent): drop it, recover on another. */
  _bad(c: Connection, what: string): void
}

/** Where `delivered` events go: the app. */
export interface Emit {
  _emit(type: keyof LifelineEvents, event: object): void
}

/**
 * The client's send path (PROTOCOL.md §4.5, §6): checks a message against the bounds and queues it
 * in the session's {@link Outbox}, puts the queue on the connection carrying the session a
 * hand-over at a time, numbers control frames, and forgets what the server acknowledges.
 */
export class Sender {
  /** Largest message the server takes, from its hello. */
  _serverMax = Infinity
  /** Largest POST body the server takes, from its hello (a server before 0.2 does not say). */
  _maxPost = Infinity
  /** A flush is due at the end of this task. */
  private _flushDue = false

  constructor(
    private readonly _session: SendHost,
    private readonly _app: Emit,
  ) {}

  /** Queue a message; it goes out at once when a connection carries the session. */
  _send(data: Queued): void {
    const o = this._session._options
    const box = this._session._outbox
    const size = typeof data == 'string' ? utf8Length(data) : data instanceof Uint8Array ? data.length : data.size
    const max = Math.min(o.maxMessageSize, this._serverMax)
    if (size > max) throw new LifelineError('LL_ERR_MESSAGE_TOO_BIG', size + ' bytes > maxMessageSize ' + max)
    if (box._bytes + size > o.maxBufferedAmount || box._count >= o.maxQueueLength)
      throw new LifelineError('LL_ERR_BUFFER_FULL', 'send queue full: ' + box._bytes + ' bytes in ' + box._count)
    box._push(data, size)
    if (typeof data != 'string' && !(data instanceof Uint8Array)) this._read(data)
    // A task's first message goes out at once (a reply waits for no code after send()); the rest
    // of the task together, after it.
    if (this._flushDue) return
    this._flush()
    this._flushDue = true
    Promise.resolve().then(() => this._flush())
  }

  /** Read a queued `Blob` to bytes; it keeps its place, so nothing overtakes it. */
  private _read(blob: Blob): void {
    const bytes = blob.arrayBuffer ? blob.arrayBuffer() : new Response(blob).arrayBuffer()
    bytes.then((b) => {
      this._session._outbox._replace(blob, new Uint8Array(b))
      this._flush()
    })
  }

  /** Put queued messages on the active connection, a hand-over at a time. */
  _flush(): void {
    const s = this._session
    this._flushDue = false
    const c = s._active
    if (!c) return
    // At most about 256 KiB (a quarter of the server's `maxPostBytes` if that is less) or 1,000
    // messages per hand-over: an HTTP transport may start a new POST body there, so a long queue
    // never makes a body the server refuses.
    const most = Math.min(HANDOVER_BYTES, this._maxPost / 4)
    for (let batch; (batch = s._outbox._take(most, HANDOVER_MESSAGES));) {
      c._transport.send(batch.frames, batch.from)
      s._liveness._sent()
    }
    if (!s._options.resume) s._outbox._forgetSent()
  }

  /**
   * A control frame on `c`; `last` closes it once the frame is out. Over HTTP a POST names the
   * number of the next message on it (PROTOCOL.md §4.5): on the connection carrying the session the
   * next new one, on any other the oldest the server may lack, so the server never holds a control
   * POST back waiting for messages that will not come on it.
   */
  _control(c: Connection, frame: string, last?: boolean): void {
    const box = this._session._outbox
    const seq = c == this._session._active ? box._next : box._base
    if (last) c._transport.end([frame], seq)
    else c._transport.send([frame], seq)
  }

  /** The server has everything up to `n`: forget it. `c` said so, and is dropped if it lies. */
  _acked(n: number, c: Connection): void {
    const s = this._session
    const base = s._outbox._base
    const freed = s._outbox._acknowledge(n)
    if (freed < 0) return s._bad(c, 'ack beyond what was sent')
    // Compared by number, not bytes: an empty message frees none and is delivered all the same.
    if (s._outbox._base > base) this._app._emit('delivered', { seq: n })
    if (freed > 0 && c == s._active) {
      c._progressed = true
      s._liveness._progress()
    }
  }
}
