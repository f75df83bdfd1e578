import type { Frame } from '../../protocol/frames'
import { Transport, type TransportContext } from './transport'

/**
 * The native WebSocket: each frame is one WebSocket message, text frames as text, binary
 * messages as binary, so a message costs one type character and nothing else.
 *
 * @example
 * new Lifeline('/rt', { transports: [WebSocketTransport] })
 */
export class WebSocketTransport extends Transport {
  declare readonly name: 'websocket'
  /** @internal */ _ws!: WebSocket

  // A getter, not a static field: a field would compile to an assignment that defeats tree-shaking.
  static get transportName(): 'websocket' {
    return 'websocket'
  }

  static isSupported(ctx: TransportContext): boolean {
    return !!ctx.WebSocket
  }

  override get isSocket(): boolean {
    return true
  }

  open(): void {
    const ws = (this._ws = new this._ctx.WebSocket(this._where().replace(/^http/, 'ws')))
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => this._opened()
    ws.onmessage = (e) => this._frame(this._in(e.data))
    // A refused handshake gives error then close; the close says the most.
    ws.onclose = (e) => this._closed(e)
  }

  send(frames: Frame[]): void {
    if (this._ws.readyState == 1) for (const f of frames) this._ws.send(f)
  }

  /** URL to connect to. @internal */
  _where(): string {
    return this._ctx.url(this, true)
  }

  /** @internal */
  _opened(): void {
    this.emit('open')
  }

  /** A WebSocket message as a frame. @internal */
  _in(d: string | ArrayBuffer): Frame {
    return typeof d == 'string' ? d : new Uint8Array(d)
  }

  /** @internal */
  _closed(e: CloseEvent): void {
    this._end(e.code == 1000 ? 'closed' : 'dropped')
  }

  /** @internal */
  protected _stop(): void {
    const ws = this._ws
    ws.onopen = ws.onmessage = ws.onclose = null
    // Closing a CONNECTING socket logs a warning in Chromium but is the only way to abort it.
    if (ws.readyState < 2) ws.close()
  }
}
