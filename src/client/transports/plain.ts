import { T, type Frame } from '../../protocol/frames'
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

  override open(): void {
    const ctx = this._ctx
    // The endpoint exactly as given: a plain server gets none of Lifeline's query parameters.
    const url = ctx.url(this, true)
    const ack = +(/[?&]ack=(\d+)/.exec(url) || [0, 0])[1]
    const ws = (this._ws = new ctx.WebSocket(url.slice(0, url.lastIndexOf('v=1&t=') - 1).replace(/^http/, 'ws')))
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => {
      this.emit('open')
      this._frame(T.Open + JSON.stringify({ v: 1, sid: 'plain', ack: 0, hb: ctx.plainPing ? ctx.heartbeat : 2 ** 30, max: ctx.maxMessageSize }))
      this._frame(T.Seq + (ack + 1))
      if (ctx.plainPing) this._beat()
    }
    ws.onmessage = (e) => this._frame(typeof e.data == 'string' ? T.Message + e.data : new Uint8Array(e.data))
    // Any close from the server is reported as a drop, except a close it meant (`c` frame).
    ws.onclose = (e) => {
      if (e.code == 1000 || e.code >= 3000) this._frame(T.Close + e.code + ' ' + e.reason)
      this._end('dropped')
    }
  }

  override send(frames: Frame[]): void {
    for (const f of frames) {
      if (typeof f != 'string') super.send([f])
      else if (f[0] == T.Message) super.send([f.slice(1)])
      else if (f[0] == T.Batch) super.send(JSON.parse(f.slice(1)))
      else if (f[0] == T.Ping) this._frame(T.Pong + f.slice(1))
      else if (f[0] == T.Close) {
        const sp = f.indexOf(' ')
        this._ws.close(+f.slice(1, sp), f.slice(sp + 1))
      }
    }
  }

  /** An application-level ping (the `plainPing` option) every heartbeat interval. */
  private _beat(): void {
    const ctx = this._ctx
    this._ping = ctx.clock.setTimeout(() => {
      if (this._done) return
      super.send([ctx.plainPing!])
      this._beat()
    }, ctx.heartbeat)
  }

  protected override _stop(): void {
    this._ctx.clock.clearTimeout(this._ping)
    super._stop()
  }
}
