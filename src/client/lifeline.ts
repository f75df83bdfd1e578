import { LifelineError } from '../protocol/errors'
import type { CloseEvent, Data, ErrorEvent, MessageEvent, OpenEvent } from './events'
import type { LifelineOptions } from './options'
import { Session } from './session'
import type { TransportClass } from './transports/transport'

/** Page events after which the connection is checked or retried at once. */
const WAKE = ['online', 'pageshow', 'resume', 'visibilitychange']

/**
 * A connection to a Lifeline server, shaped like a `WebSocket`, lean: it tries the transports
 * it is given in order and reconnects, but does not race them, remember what worked or upgrade
 * back (`LifelineRacing` and `Lifeline` do). It ships only the transports it is given.
 *
 * @example
 * import { LifelineCore, WebSocketTransport } from 'lifeline'
 * const ll = new LifelineCore('/rt', { transports: [WebSocketTransport] })
 */
export class LifelineCore extends Session {
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
  onmessage: ((ev: MessageEvent) => void) | null = null
  onerror: ((ev: ErrorEvent) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null

  /**
   * @param url endpoint: `http(s)://`, `ws(s)://`, or relative to the page (`'/rt'`).
   * @param options see {@link LifelineOptions}.
   * @param available transport classes that names in `options.transports` refer to.
   */
  constructor(url: string, options: LifelineOptions = {}, available: TransportClass[] = []) {
    super(resolve(url), options, available)
    this.url = this._url
    if (typeof addEventListener == 'function') for (const e of WAKE) addEventListener(e, this._onWake, true)
    this._connect()
  }

  /** 0 CONNECTING, 1 OPEN (also while reconnecting: sends queue), 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return ['connecting', 'open', 'closing', 'closed'].indexOf(this.state == 'reconnecting' ? 'open' : this.state)
  }

  /**
   * Send a message. It is queued while no transport is up and resent after a reconnect until the
   * server acknowledges it. Throws `LL_ERR_BUFFER_FULL` past the queue bounds,
   * `LL_ERR_MESSAGE_TOO_BIG` past `maxMessageSize`, `LL_ERR_INVALID_STATE` after `close()`.
   *
   * @example
   * ll.send(JSON.stringify({ hello: 'world' }))
   */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    const v = data as ArrayBufferView
    this._send(
      typeof data == 'string' || (typeof Blob != 'undefined' && data instanceof Blob)
        ? data
        : // One copy for a buffer and for a view of one: an ArrayBuffer has no .buffer nor offset.
          data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? new Uint8Array(v.buffer || data, v.byteOffset, v.byteLength).slice()
          : this._throw('LL_ERR_INVALID_DATA', 'cannot send ' + typeof data),
    )
  }

  /**
   * Close for good. Queued messages go out first; the server hears `code` and `reason`.
   *
   * @example
   * ll.close(1000, 'user logged out')
   */
  close(code = 1000, reason = ''): void {
    const c = this._act
    const done = () => Promise.resolve().then(() => this._finish(code, reason, true))
    if (code != 1000 && !(code >= 3000 && code <= 4999)) this._throw('LL_ERR_INVALID_OPTION', 'close code ' + code)
    if (unescape(encodeURIComponent(reason)).length > 123) this._throw('LL_ERR_INVALID_OPTION', 'close reason over 123 bytes')
    if (this.state == 'closing' || this.state == 'closed') return
    this._setState('closing', 'close()')
    if (!c) return void done()
    this._flush()
    // As with WebSocket, `close` fires after close() returns, once the goodbye is out (or after
    // heartbeatTimeout if it cannot get out).
    c.t.removeAllListeners('close')
    c.t.once('close', done)
    c.t.end(['c' + code + ' ' + reason], this._next())
    this._set(done, this._o.heartbeatTimeout)
  }

  /** Like `WebSocket.addEventListener`: `open`, `message`, `close`, `error` and the rest; `{ once: true }` works. */
  addEventListener(type: string, fn: (ev: any) => void, options?: boolean | { once?: boolean }): void {
    ;(typeof options == 'object' && options.once ? this.once : this.on).call(this, type as 'open', fn)
  }

  removeEventListener(type: string, fn: (ev: any) => void): void {
    this.off(type as 'open', fn)
  }

  /** @internal */
  _deliver(d: string | Uint8Array): void {
    this._emit('message', {
      data: typeof d == 'string' ? d : this.binaryType == 'blob' ? new Blob([d as BlobPart]) : d.byteOffset || d.byteLength != d.buffer.byteLength ? d.slice().buffer : (d.buffer as Data),
    })
  }

  /** @internal */
  _stop(): void {
    if (typeof removeEventListener == 'function') for (const e of WAKE) removeEventListener(e, this._onWake, true)
  }

  private _onWake = (): void => {
    if (typeof document == 'undefined' || document.visibilityState != 'hidden') this._wake()
  }
}

/** Absolute http(s) form of an endpoint; throws `LL_ERR_INVALID_URL`. */
function resolve(url: string): string {
  let u: URL | undefined
  try {
    u = new URL(url, typeof location != 'undefined' ? location.href : undefined)
  } catch (e) {}
  if (!u || !/^(http|ws)s?:$/.test(u.protocol)) throw new LifelineError('LL_ERR_INVALID_URL', 'bad URL ' + url + ': use http(s)://, ws(s):// or a path')
  u.protocol = u.protocol.replace('ws', 'http')
  u.hash = ''
  return u.href
}
