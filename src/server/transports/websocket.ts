import type { WebSocket } from 'ws'
import type { Frame } from '../../protocol/frames'
import type { Link, ServerSession } from '../session'

/** A session's WebSocket: each frame is one WebSocket message. @internal */
export class WebSocketLink implements Link {
  readonly name = 'websocket'
  inSeq = 0

  constructor(
    readonly ws: WebSocket,
    session: ServerSession,
    cursor: number,
  ) {
    ws.on('message', (data, isBinary) => {
      if (session.closed) return
      // ws hands over a Buffer (binaryType 'nodebuffer'): no copy.
      const frame: Frame = isBinary ? (data as Buffer) : data.toString()
      session._receive([frame], this)
    })
    ws.on('close', () => session._detach(this))
    ws.on('error', () => ws.terminate())
    session._attach(this, cursor)
  }

  ready(): boolean {
    return this.ws.readyState == 1
  }

  write(frames: Frame[]): void {
    for (const f of frames) this.ws.send(f, { binary: typeof f != 'string' })
  }

  end(): void {
    if (this.ws.readyState < 2) this.ws.close(1000)
  }
}
