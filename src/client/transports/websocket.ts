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
  static readonly transportName = 'websocket'
  readonly name = 'websocket'
  /** @internal */ _ws!: WebSocket

  static isSupported(ctx: TransportContext): boolean {
    return !!ctx.WebSocket
  }

  open(): void {
    const ws = (this._ws = new this._ctx.WebSocket(this._ctx.url(this, true).replace(/^http/, 'ws')))
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => this.emit('open')
    ws.onmessage = (e) => this._frame(typeof e.data == 'string' ? e.data : new Uint8Array(e.data))
    // A refused handshake gives error then close; the close carries the most information.
    ws.onclose = (e) => this._end(e.code == 1000 ? 'closed' : 'dropped', e.code == 1006 ? undefined : new Error('WebSocket closed ' + e.code + ' ' + e.reason))
  }

  send(frames: Frame[]): void {
    if (this._ws.readyState != 1) return
    for (const f of frames) this._ws.send(f)
  }

  /** Bytes the browser has not put on the wire yet. */
  get buffered(): number {
    return this._ws.bufferedAmount
  }

  protected _stop(): void {
    const ws = this._ws
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
    // Closing a CONNECTING socket logs a console warning in Chromium but is the only way to abort.
    if (ws.readyState < 2) ws.close()
  }
}
