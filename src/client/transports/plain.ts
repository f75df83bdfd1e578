import { encodeHello } from '../../protocol/codec'
import { FrameType, VERSION, type Frame } from '../../protocol/frames'
import { WebSocketTransport } from './websocket'

/**
 * Plain mode: a WebSocket to a server that knows nothing of Lifeline (any `ws://` endpoint).
 * It plays the server's half of the protocol locally — a hello on open, pongs, sequence
 * numbers — so the session above keeps its API, send queue and reconnection; there is no
 * fallback and no resume, since a plain server has neither.
 *
 * @example
 * new Lifeline('wss://legacy.example.com/socket', { plain: true })
 */
export class PlainTransport extends WebSocketTransport {
  private _ping?: unknown

  /** The endpoint exactly as given: a plain server gets none of Lifeline's query parameters. @internal */
  override _where(): string {
    return this._ctx.endpoint
  }

  /** @internal */
  override _opened(): void {
    const ctx = this._ctx
    this.emit('open')
    this._frame(
      encodeHello({
        v: VERSION,
        sid: 'plain',
        ack: 0,
        hb: ctx.plainPing ? ctx.heartbeat : 1e9,
        max: ctx.maxMessageSize,
      }),
    )
    // Numbered on from what already arrived (the cursor), so nothing counts as a duplicate.
    this._frame(FrameType.Seq + (ctx.cursor() + 1))
    this._beat()
  }

  /** @internal */
  override _in(d: string | ArrayBuffer): Frame {
    return typeof d == 'string' ? FrameType.Message + d : new Uint8Array(d)
  }

  /** A close the server meant (1000, or an application code) ends the session; others are drops. @internal */
  override _closed(e: CloseEvent): void {
    if (e.code == 1000 || e.code >= 3000) this._frame(FrameType.Close + e.code + ' ' + e.reason)
    this._end('dropped')
  }

  override send(frames: Frame[]): void {
    for (const f of frames) {
      const ty = f[0]
      const rest = typeof f == 'string' ? f.slice(1) : ''
      if (typeof f != 'string') super.send([f])
      else if (ty == FrameType.Message) super.send([rest])
      else if (ty == FrameType.Batch) super.send(JSON.parse(rest))
      else if (ty == FrameType.Ping) this._frame(FrameType.Pong + rest)
      else if (ty == FrameType.Close) this._ws.close(+rest.split(' ')[0], rest.slice(rest.indexOf(' ') + 1))
    }
  }

  /** An application-level ping (the `plainPing` option) every heartbeat interval. */
  private _beat(): void {
    const ctx = this._ctx
    if (ctx.plainPing)
      this._ping = ctx.clock.setTimeout(() => {
        if (!this._done) (super.send([ctx.plainPing!]), this._beat())
      }, ctx.heartbeat)
  }

  /** @internal */
  protected override _stop(): void {
    this._ctx.clock.clearTimeout(this._ping)
    super._stop()
  }
}
