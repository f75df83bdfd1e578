import EventEmitter from 'eventemitter3'
import { isAppCloseCode } from '../protocol/frames'
import { LifelineError } from '../protocol/errors'
import { MAX_REASON_BYTES } from '../protocol/limits'
import { utf8Length } from '../protocol/utf8'
import type { CloseEvent, Data, ErrorEvent, LifelineEvents, MessageEvent, OpenEvent, SendData, State } from './events'
import type { LifelineOptions } from './options'
import { inOrder, type SelectorFactory } from './select'
import { Session } from './session'
import type { TransportClass, TransportName } from './transports/transport'

/** How `send()` takes a message. */
export interface SendOptions {
  /**
   * The app hands its bytes over and will not write to that memory again: they are kept as they
   * are until acknowledged, not copied. Strings and Blobs ignore it. @default false
   */
  transfer?: boolean
}

/** Page events after which the connection is checked or retried at once. */
const WAKE = ['online', 'pageshow', 'resume', 'visibilitychange']

/** `readyState` for each state: reconnecting counts as OPEN, since sends queue meanwhile. */
const READY_STATE: Record<State, number> = { connecting: 0, open: 1, reconnecting: 1, closing: 2, closed: 3 }

/**
 * A connection to a Lifeline server, shaped like a `WebSocket`, lean: it tries the transports
 * it is given in order and reconnects, but does not race them, remember what worked or upgrade
 * back (`LifelineRacing` and `Lifeline` do). It ships only the transports it is given.
 *
 * @example
 * import { LifelineCore, WebSocketTransport } from 'lifeline-rt'
 * const ll = new LifelineCore('/rt', { transports: [WebSocketTransport] })
 *
 * `In` and `Out` type the messages received and sent, for the compiler only (nothing is checked
 * at run time): `new Lifeline<Quote, Order>('/rt')` where `Quote` and `Order` are string types.
 */
export class LifelineCore<In extends Data = Data, Out extends SendData = SendData> extends EventEmitter<
  LifelineEvents<In>
> {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3
  /** How binary messages are delivered: `'blob'` (as WebSocket) or `'arraybuffer'`. */
  binaryType: 'blob' | 'arraybuffer' = 'blob'
  /** No subprotocol is negotiated; always `''`. */
  readonly protocol = ''
  /** No WebSocket extension is negotiated; always `''`. */
  readonly extensions = ''
  /** The endpoint, absolute. */
  readonly url: string
  onopen: ((ev: OpenEvent) => void) | null = null
  onmessage: ((ev: MessageEvent<In>) => void) | null = null
  onerror: ((ev: ErrorEvent) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null
  /** @internal */
  readonly _session: Session

  /**
   * @param url endpoint: `http(s)://`, `ws(s)://`, or relative to the page (`'/rt'`).
   * @param options see {@link LifelineOptions}.
   * @param available transport classes that names in `options.transports` refer to.
   */
  constructor(url: string, options: LifelineOptions = {}, available: TransportClass[] = []) {
    super()
    this.url = resolve(url)
    this._session = new Session(this, this.url, options, available, this._selector())
    if (typeof addEventListener == 'function') for (const e of WAKE) addEventListener(e, this._onWake, true)
    this._session._connect()
  }

  /** Current state; `state` events report every change. */
  get state(): State {
    return this._session._state
  }

  /** 0 CONNECTING, 1 OPEN (also while reconnecting: sends queue), 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return READY_STATE[this._session._state]
  }

  /** Session id, once the server has given one. */
  get sessionId(): string | null {
    return this._session._sessionId
  }

  /** Bytes sent but not yet acknowledged by the server. */
  get bufferedAmount(): number {
    return this._session._outbox._bytes
  }

  /**
   * Sequence number of the last message sent in this session, 0 before the first: once a
   * `delivered` event's `seq` reaches it, the server has everything sent so far.
   *
   * @example
   * ll.send('order')
   * const n = ll.sent
   * ll.on('delivered', (e) => e.seq >= n && console.log('the server has it'))
   */
  get sent(): number {
    const o = this._session._outbox
    return o._base + o._count - 1
  }

  /** Chosen transport's name, or null while none carries the session. */
  get transport(): TransportName | null {
    const c = this._session._active
    return c ? c._name : null
  }

  /** Round trip of the last proof ping, ms. */
  get rtt(): number {
    return this._session._rtt
  }

  /**
   * Send a message. It is queued while no transport is up and resent after a reconnect until the
   * server acknowledges it. Throws `LL_ERR_BUFFER_FULL` past the queue bounds,
   * `LL_ERR_MESSAGE_TOO_BIG` past `maxMessageSize`, `LL_ERR_INVALID_STATE` after `close()`.
   *
   * Bytes are copied, since they are kept until acknowledged and the app may reuse its buffer at
   * once; with `{ transfer: true }` the app hands them over instead (no copy: it must not write
   * to that memory again), which for 64 KiB messages is a tenth of the time `send()` takes.
   *
   * @example
   * ll.send(JSON.stringify({ hello: 'world' }))
   * ll.send(encodeFrame(state), { transfer: true }) // a fresh buffer, never touched again
   */
  send(data: Out, options?: SendOptions): void {
    if (typeof data == 'string' || (typeof Blob != 'undefined' && data instanceof Blob))
      return this._session._send(data)
    if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data)))
      throw new LifelineError('LL_ERR_INVALID_DATA', 'cannot send ' + typeof data + ': send a string, buffer or Blob')
    // One view, or one copy, for a buffer and for a view of one (an ArrayBuffer has neither
    // `.buffer` nor an offset).
    const view = data as ArrayBufferView
    const bytes = new Uint8Array(view.buffer || data, view.byteOffset, view.byteLength)
    this._session._send(options && options.transfer ? bytes : bytes.slice())
  }

  /**
   * Close for good. Queued messages go out first; the server hears `code` and `reason`. Codes are
   * 1000 or 3000-4999 except Lifeline's own 3900-3999; the reason is at most 123 bytes of UTF-8.
   *
   * @example
   * ll.close(1000, 'user logged out')
   */
  close(code = 1000, reason = ''): void {
    if (!isAppCloseCode(code))
      throw new LifelineError('LL_ERR_INVALID_OPTION', 'close code ' + code + ': use 1000 or 3000-4999, not 3900-3999')
    if (utf8Length(reason) > MAX_REASON_BYTES)
      throw new LifelineError('LL_ERR_INVALID_OPTION', 'close reason over ' + MAX_REASON_BYTES + ' bytes')
    this._session._close(code, reason)
  }

  /**
   * Like `WebSocket.addEventListener`: `open`, `message`, `close`, `error` and the rest, each
   * listener typed by its event, as with `on`; `{ once: true }` works.
   */
  addEventListener<K extends keyof LifelineEvents<In>>(
    type: K,
    fn: (...ev: LifelineEvents<In>[K]) => void,
    options?: boolean | { once?: boolean },
  ): void {
    if (typeof options == 'object' && options.once) this.once(type, fn as never)
    else this.on(type, fn as never)
  }

  removeEventListener<K extends keyof LifelineEvents<In>>(type: K, fn: (...ev: LifelineEvents<In>[K]) => void): void {
    this.off(type, fn as never)
  }

  /**
   * Emit to `on<type>` and to listeners. An exception from app code is rethrown in a fresh task
   * (it shows in the console, as from a WebSocket handler) and cannot break the session; as with
   * any emitter, it stops later listeners of that one event.
   * @internal
   */
  _emit(type: keyof LifelineEvents, ev: object): void {
    const e = ev as { type: string; target: unknown }
    e.type = type
    e.target = this
    const handler = (this as unknown as Record<string, ((e: unknown) => void) | null>)['on' + type]
    // Two plain try blocks: this runs once per message, so nothing is allocated on the way.
    try {
      if (handler) handler.call(this, e)
    } catch (err) {
      rethrow(err)
    }
    try {
      this.emit(type, e as never)
    } catch (err) {
      rethrow(err)
    }
  }

  /** @internal */
  _deliver(d: string | Uint8Array): void {
    let data: Data
    if (typeof d == 'string') data = d
    else if (this.binaryType == 'blob') data = new Blob([d as BlobPart])
    // The message's own bytes when it fills its buffer; otherwise a copy of just them.
    else data = d.byteOffset || d.byteLength != d.buffer.byteLength ? d.slice().buffer : (d.buffer as ArrayBuffer)
    this._emit('message', { data })
  }

  /** @internal */
  _stop(): void {
    if (typeof removeEventListener == 'function') for (const e of WAKE) removeEventListener(e, this._onWake, true)
  }

  /** The network is back or the page woke: retry now, or check the connection. @internal */
  _wake(): void {
    this._session._wake()
  }

  /** The transport strategy: one at a time, in order. @internal */
  _selector(): SelectorFactory {
    return inOrder
  }

  private _onWake = (): void => {
    if (typeof document == 'undefined' || document.visibilityState != 'hidden') this._wake()
  }
}

/** An app handler's exception, thrown again in a fresh task: seen in the console, harmless here. */
function rethrow(err: unknown): void {
  setTimeout(() => {
    throw err
  })
}

/** Absolute http(s) form of an endpoint; throws `LL_ERR_INVALID_URL`. */
function resolve(url: string): string {
  let u: URL | undefined
  try {
    u = new URL(url, typeof location != 'undefined' ? location.href : undefined)
  } catch (e) {
    // Reported below with the fix.
  }
  if (!u || !/^(http|ws)s?:$/.test(u.protocol))
    throw new LifelineError('LL_ERR_INVALID_URL', 'bad URL ' + url + ': use http(s)://, ws(s):// or a path')
  u.protocol = u.protocol.replace('ws', 'http')
  u.hash = ''
  return u.href
}
