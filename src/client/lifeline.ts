import { LifelineError } from '../protocol/errors'
import type { Data } from './events'
import type { LifelineOptions } from './options'
import { Select } from './select'
import type { TransportClass, TransportName } from './transports/transport'

/** One transport's result in a {@link LifelineCore.diagnose} report. */
export interface DiagnoseResult {
  transport: TransportName
  ok: boolean
  /** ms from start until it proved both directions, or until it failed. */
  ms: number
  /** Round trip of the proof ping, ms (0 when it failed). */
  rtt: number
  /** `ok`, or why it failed (`websocket-refused`, `stream-buffered`, ...). */
  reason: string
}

/** What {@link LifelineCore.diagnose} resolves to. */
export interface DiagnoseReport {
  url: string
  /** The first transport that worked, in order of preference, or null. */
  best: TransportName | null
  results: DiagnoseResult[]
}

type Handler = ((ev: never) => void) | null

/** Page events after which the connection is checked or retried at once (fired at window or document). */
const WAKE = ['online', 'pageshow', 'resume', 'visibilitychange']

/**
 * A connection to a Lifeline server, shaped like a `WebSocket`. This core class ships only the
 * transports it is given; `Lifeline` is the same with all three.
 *
 * @example
 * import { LifelineCore, WebSocketTransport } from 'lifeline'
 * const ll = new LifelineCore('/rt', { transports: [WebSocketTransport] })
 */
export class LifelineCore extends Select {
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
  /** The endpoint, absolute. */
  readonly url: string
  onopen: Handler = null
  onmessage: Handler = null
  onerror: Handler = null
  onclose: Handler = null

  /**
   * @param url endpoint: `http(s)://`, `ws(s)://`, or relative to the page (`'/rt'`).
   * @param options see {@link LifelineOptions}.
   */
  constructor(url: string, options: LifelineOptions = {}, available: TransportClass[] = []) {
    super(resolve(url), options, available)
    this.url = this._url
    const w = typeof window != 'undefined' ? window : undefined
    if (w && w.addEventListener) {
      for (const e of WAKE) w.addEventListener(e, this._onWake, true)
    }
    this._connect()
  }

  /** 0 CONNECTING, 1 OPEN (also while reconnecting: sends queue), 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return ['connecting', 'open', 'closing', 'closed'].indexOf(this.state == 'reconnecting' ? 'open' : this.state)
  }

  /**
   * Send a message. It is queued while no transport is up and resent after a reconnect until
   * the server acknowledges it. Throws `LL_ERR_BUFFER_FULL` past the queue bounds,
   * `LL_ERR_MESSAGE_TOO_BIG` past `maxMessageSize`, `LL_ERR_INVALID_STATE` after `close()`.
   *
   * @example
   * ll.send(JSON.stringify({ hello: 'world' }))
   */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (typeof data == 'string') return this._send(data)
    if (data instanceof ArrayBuffer) return this._send(new Uint8Array(data.slice(0)))
    if (ArrayBuffer.isView(data)) return this._send(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)))
    if (typeof Blob != 'undefined' && data instanceof Blob) return this._send(data)
    this._throw('LL_ERR_INVALID_DATA', 'send() takes a string, ArrayBuffer, ArrayBufferView or Blob, not ' + typeof data)
  }

  /**
   * Close for good. Queued messages go out first; the server hears `code` and `reason`.
   *
   * @example
   * ll.close(1000, 'user logged out')
   */
  close(code = 1000, reason = ''): void {
    if (code != 1000 && !(code >= 3000 && code <= 4999)) this._throw('LL_ERR_INVALID_OPTION', 'close code must be 1000 or 3000-4999, not ' + code)
    if (unescape(encodeURIComponent(reason)).length > 123) this._throw('LL_ERR_INVALID_OPTION', 'close reason longer than 123 bytes')
    if (this.state == 'closing' || this.state == 'closed') return
    const c = this._act
    this._setState('closing', 'close()')
    if (!c) return void Promise.resolve().then(() => this._finish(code, reason, true))
    this._flush()
    c.t.removeAllListeners('close')
    // As with WebSocket, `close` fires asynchronously, after close() returns.
    c.t.once('close', () => Promise.resolve().then(() => this._finish(code, reason, true)))
    c.t.end(['c' + code + ' ' + reason], this._next())
    // A goodbye that cannot get out within the heartbeat timeout is not waited for.
    this._o.clock.setTimeout(() => this._finish(code, reason, true), this._o.heartbeatTimeout)
  }

  /** Like `WebSocket.addEventListener`: `open`, `message`, `close`, `error` and the rest. */
  addEventListener(type: string, fn: (ev: any) => void): void {
    this.on(type as 'open', fn)
  }

  removeEventListener(type: string, fn: (ev: any) => void): void {
    this.off(type as 'open', fn)
  }

  /**
   * Try every transport to `url` on its own and report which work from this network, how long
   * each took and why any failed: the thing to ask a user behind a corporate proxy to run.
   *
   * @example
   * console.table((await Lifeline.diagnose('/rt')).results)
   */
  static diagnose(url: string, options: LifelineOptions = {}): Promise<DiagnoseReport> {
    const Ctor = this as unknown as new (url: string, o: LifelineOptions) => LifelineCore
    const probe = new Ctor(url, Object.assign({}, options, { maxRetries: 0, storage: null }))
    const names = probe._classes.map((C) => C.transportName)
    probe.close()
    const results: DiagnoseResult[] = []
    const one = (i: number): Promise<DiagnoseReport> => {
      if (i == names.length) {
        const win = results.filter((r) => r.ok)[0]
        return Promise.resolve({ url: probe.url, best: win ? win.transport : null, results })
      }
      return new Promise<void>((done) => {
        const ll = new Ctor(url, Object.assign({}, options, { transports: [probe._classes[i]], maxRetries: 0, storage: null }))
        const t0 = ll._o.clock.now()
        const end = (ok: boolean, reason: string) => {
          results[i] = results[i] || { transport: names[i], ok, ms: ll._o.clock.now() - t0, rtt: ok ? ll.rtt : 0, reason }
          ll.close()
          done()
        }
        ll._proof = () => end(true, 'ok')
        ll.on('close', (e) => end(false, e.reason))
      }).then(() => one(i + 1))
    }
    return one(0)
  }

  /** @internal */
  _deliver(d: string | Uint8Array): void {
    let data: Data = d as string
    if (typeof d != 'string')
      data = this.binaryType == 'blob' ? new Blob([d as BlobPart]) : d.byteOffset || d.byteLength != d.buffer.byteLength ? d.slice().buffer : (d.buffer as ArrayBuffer)
    this._emit('message', { data })
  }

  /** @internal */
  override _stopAll(): void {
    super._stopAll()
    if (typeof window != 'undefined' && window.removeEventListener)
      for (const e of WAKE) window.removeEventListener(e, this._onWake, true)
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
  if (!u || !/^(http|ws)s?:$/.test(u.protocol))
    throw new LifelineError('LL_ERR_INVALID_URL', 'invalid Lifeline URL ' + JSON.stringify(url) + ': use http(s)://, ws(s):// or a path')
  u.protocol = u.protocol.replace('ws', 'http')
  u.hash = ''
  return u.href
}
