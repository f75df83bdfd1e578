// One body of client frames a served session takes, in cluster mode (a WebSocket message here, or
// a POST body), read before anything is done with it: one run of messages, kept in Redis first,
// and what is done once they are (served-inbound.ts). The frames are read by the protocol's
// reader (../../protocol/codec.ts), as one process reads them in inbound.ts.
import { badClientFrame, read, type FrameVisitor, type Numbered } from '../../protocol/codec'
import { Code, FrameType, type Frame } from '../../protocol/frames'
import type { StoredMessage } from './records'

/** A body of client frames, read. @internal */
export interface Body {
  /** Number of the message after the last one read. */
  _seq: number
  /** Number of the first message, 0 without any; the messages are one run. */
  _first: number
  _msgs: StoredMessage[]
  /** `u`, `a`, pings and the close, in order: done once the messages are kept. */
  _after: Later[]
  /**
   * A connection's first upload: `u<k>`, then `s<oldest unacknowledged>` (PROTOCOL.md §6.2), so
   * everything before `_kept` was acknowledged to the client. (On a WebSocket the two come apart.)
   */
  _used: boolean
  _kept: number
  /** The server's `maxMessageSize`. */
  _max: number
}

/** What a body asks for besides its messages. @internal */
export type Later =
  [FrameType.Use | FrameType.Ack, number] | [FrameType.Ping, string] | [FrameType.Close, number, string]

/** A client's frame that ends its session with `code`. @internal */
export class Bad extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Read `frames`, whose first message without an `s` frame before it is `seq` (0: none may come
 * first). Throws {@link Bad} for a frame that ends the session: a malformed one, a message over
 * `max` bytes (1009), a message before any sequence number, or two runs of messages in one body.
 * @internal
 */
export function readBody(frames: Frame[], seq: number, max: number): Body {
  const b: Body = { _seq: seq, _first: 0, _msgs: [], _after: [], _used: false, _kept: 0, _max: max }
  for (const f of frames) read(f, reader, b)
  return b
}

/** What each kind of client frame adds to a body. */
const reader: FrameVisitor<Body, void> = {
  _message(b, d) {
    add(b, typeof d == 'string' ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength))
  },
  _messages(b, list) {
    for (const m of list) add(b, m)
  },
  /** `s<n>`, `u<k>` and `a<n>` (a client sends no other number). */
  _number(b, type: Numbered, n) {
    if (type != FrameType.Seq) {
      if (type == FrameType.Use) b._used = true
      b._after.push([type as FrameType.Use | FrameType.Ack, n])
    } else {
      b._seq = n
      if (b._used && !b._kept) b._kept = n
    }
  },
  _ping(b, token) {
    b._after.push([FrameType.Ping, token])
  },
  _pong() {
    // Nothing to do: any frame proves the client is there.
  },
  /** Its code checked by the reader as in one process, before anything of the body is kept. */
  _close(b, code, reason) {
    b._after.push([FrameType.Close, code, reason])
  },
  _bad(b, f) {
    throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: ' + badClientFrame(f))
  },
}

/** Message `b._seq` of the body: one run of messages, each within `maxMessageSize`. */
function add(b: Body, m: StoredMessage): void {
  const n = typeof m == 'string' ? Buffer.byteLength(m) : m.length
  if (n > b._max) throw new Bad(Code.MESSAGE_TOO_BIG, 'message of ' + n + ' bytes exceeds ' + b._max)
  if (!b._seq) throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: message before sequence marker')
  if (!b._msgs.length) b._first = b._seq
  else if (b._first + b._msgs.length != b._seq)
    throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: two runs in one body')
  b._msgs.push(m)
  b._seq++
}
