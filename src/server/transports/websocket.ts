import type { WebSocket } from 'ws'
import { Code, type Frame } from '../../protocol/frames'
import type { Link, LinkOwner } from '../link'
import type { SharedFrame } from '../shared-frame'

/** A session's WebSocket: each frame is one WebSocket message. @internal */
export class WebSocketLink implements Link {
  readonly name = 'websocket'
  inSeq = 0
  private _over = false
  /** ws's writer of a whole frame, once a shared write has looked (null: a send instead). */
  private _whole?: FrameWriter | null

  constructor(
    readonly ws: WebSocket,
    private _session: LinkOwner,
    cursor: number,
    /** The client's room positions, from its request (PROTOCOL.md §6.5). */
    got?: ReadonlyMap<string, number>,
  ) {
    ws.on('message', (data, isBinary) => {
      if (_session.closed) return
      // ws hands over a Buffer (binaryType 'nodebuffer'): no copy.
      const frame: Frame = isBinary ? (data as Buffer) : data.toString()
      _session._receive([frame], this)
    })
    ws.on('close', () => _session._detach(this))
    ws.on('error', (e: Error & { code?: string }) => {
      // ws reports what the client did wrong (a frame over maxPayload, invalid UTF-8, a bad
      // opcode) and closes the socket; the session ends too, or the client would resume and
      // do it again.
      if (/^WS_ERR_UNSUPPORTED_(MESSAGE|DATA_PAYLOAD)_LENGTH$/.test(e.code || ''))
        _session._end(Code.MESSAGE_TOO_BIG, 'message over maxMessageSize ' + _session._host.o.maxMessageSize)
      else if (e.code && e.code.startsWith('WS_ERR_'))
        _session._end(Code.PROTOCOL_ERROR, 'protocol error: ' + e.message)
      ws.terminate()
    })
    _session._attach(this, cursor, got)
  }

  ready(): boolean {
    return this.ws.readyState == 1
  }

  write(frames: Frame[]): void {
    const ws = this.ws
    // No options object per frame: ws sends a string as text and anything else as binary.
    for (const f of frames) ws.send(f)
    this._bound()
  }

  writeShared(f: SharedFrame): void {
    // Looked up on the first shared write, not on each: a room message's write is per member.
    if (this._whole === undefined) this._whole = wholeFrameWriter(this.ws)
    if (this._whole) this._whole.sendFrame([f.wire])
    else this.ws.send(f.frame)
    this._bound()
  }

  private _bound(): void {
    const ws = this.ws
    // Acknowledging without reading (blind acks) keeps the session's queue small while the
    // socket's grows: bound that too. Past it the client is not reading; it is not waited for.
    if (ws.bufferedAmount > this._session._host.o.maxBufferedAmount && !this._over) {
      this._over = true
      this._session._end(Code.BUFFER_OVERFLOW, 'buffer overflow: client is not reading')
      ws.terminate()
    }
  }

  end(dead?: boolean): void {
    // A peer that does not answer (silent past the heartbeat timeout, or acknowledgements overdue)
    // may be a suspended page (Gecko answers a close frame only from the page's process) and never
    // answer a close frame: waiting for one, as ws does for 30 s, would keep the dead link attached
    // and the session's TTL from starting.
    if (dead) this.ws.terminate()
    else if (this.ws.readyState < 2) this.ws.close(1000)
  }
}

/** What ws's sender does with a frame made in advance: writes it as it is. */
interface FrameWriter {
  sendFrame(list: Buffer[]): void
}

/**
 * ws's own writer of a whole frame (engine.io writes socket.io's broadcasts with it), or null. Only
 * with no extension on (the server turns permessage-deflate off): nothing can then wait in ws's
 * queue ahead of the frame. ws does not document it; without it, a frame goes by `send`.
 */
function wholeFrameWriter(ws: WebSocket): FrameWriter | null {
  const sender: Partial<FrameWriter> | undefined = Reflect.get(ws, '_sender')
  return sender && typeof sender.sendFrame == 'function' && !ws.extensions ? (sender as FrameWriter) : null
}
