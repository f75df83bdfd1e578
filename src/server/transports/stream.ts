import type { ServerResponse } from 'node:http'
import { encode } from '../../protocol/envelope'
import { Code, type Frame } from '../../protocol/frames'
import type { Link, LinkOwner } from '../link'

/**
 * A session's stream: one long response carrying envelope records as they happen. After
 * `streamMaxBytes` it is ended so no intermediary holds one response forever; the client
 * reopens it from its cursor. @internal
 */
export class StreamLink implements Link {
  readonly name = 'stream'
  inSeq = 0
  private _bytes = 0

  constructor(
    private _res: ServerResponse,
    private _session: LinkOwner,
    private _max: number,
  ) {
    _res.on('close', () => _session._detach(this))
  }

  ready(): boolean {
    return !this._res.writableEnded && !this._res.destroyed
  }

  write(frames: Frame[]): void {
    const res = this._res
    const body = encode(frames)
    res.write(body)
    // As on WebSocket: acknowledging by POST without reading the stream fills the socket, not
    // the session's queue; past `maxBufferedAmount` the client is not reading.
    if (res.writableLength > this._session._host.o.maxBufferedAmount && !res.destroyed) {
      res.destroy()
      this._session._end(Code.BUFFER_OVERFLOW, 'buffer overflow: client is not reading')
    } else if ((this._bytes += body.length) >= this._max) res.end()
  }

  end(dead?: boolean): void {
    if (dead) this._res.destroy()
    else if (!this._res.writableEnded) this._res.end()
  }
}
