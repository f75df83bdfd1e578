import type { Frame } from '../../src/protocol/frames'
import type { Link } from '../../src/server/session'

/** A server session's WebSocket link in memory: always ready, keeps what it is given. */
export class MemLink implements Link {
  readonly name = 'websocket'
  inSeq = 0
  out: Frame[] = []
  ready() {
    return true
  }
  write(frames: Frame[]) {
    this.out.push(...frames)
  }
  end() {}
}
