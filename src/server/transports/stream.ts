import type { ServerResponse } from 'node:http'
import { encode } from '../../protocol/envelope'
import type { Frame } from '../../protocol/frames'
import type { Link, ServerSession } from '../session'

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
    session: ServerSession,
    private _max: number,
  ) {
    _res.on('close', () => session._detach(this))
  }

  ready(): boolean {
    return !this._res.writableEnded
  }

  write(frames: Frame[]): void {
    const body = encode(frames)
    this._res.write(body)
    if ((this._bytes += body.length) >= this._max) this._res.end()
  }

  end(): void {
    if (!this._res.writableEnded) this._res.end()
  }
}
