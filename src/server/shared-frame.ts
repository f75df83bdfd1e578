// One frame written as it is to many links: a room message to each of its members served on one
// node (cluster/feeds.ts). It is encoded once, not once per member: its frame for any link, and
// for a WebSocket the whole WebSocket frame as it goes on the wire (RFC 6455 §5.2: unmasked, as a
// server sends), which the link writes with one socket write. At 10,000 members over three nodes
// on two cores, a node's time went mostly to writing each member's copy (bench/README.md, "Where
// a node's time went").
import { FrameType, type Frame } from '../protocol/frames'

/** @internal */
export class SharedFrame {
  private _wire?: Buffer

  constructor(
    /** The frame (PROTOCOL.md §2): `m` and the text, or a binary message's bytes. */
    readonly frame: Frame,
  ) {}

  /** The frame of one application message `m`. */
  static message(m: string | Buffer): SharedFrame {
    return new SharedFrame(typeof m == 'string' ? FrameType.Message + m : m)
  }

  /** The WebSocket frame carrying it, made on first use. */
  get wire(): Buffer {
    if (!this._wire) this._wire = webSocketFrame(this.frame)
    return this._wire
  }
}

/** RFC 6455 §5.2 opcodes. */
const enum Opcode {
  Text = 1,
  Binary = 2,
}
/** FIN: the frame is a whole message. */
const FIN = 0x80
/** Payload lengths past these take a 16-bit, then a 64-bit, extended length. */
const SHORT_MAX = 125
const MEDIUM_MAX = 0xffff

/** A whole unmasked WebSocket frame (FIN, text or binary) carrying `f`. @internal */
export function webSocketFrame(f: Frame): Buffer {
  const payload = typeof f == 'string' ? Buffer.from(f) : f
  const n = payload.length
  const head = n <= SHORT_MAX ? 2 : n <= MEDIUM_MAX ? 4 : 10
  const b = Buffer.allocUnsafe(head + n)
  b[0] = FIN | (typeof f == 'string' ? Opcode.Text : Opcode.Binary)
  if (n <= SHORT_MAX) b[1] = n
  else if (n <= MEDIUM_MAX) {
    b[1] = SHORT_MAX + 1
    b.writeUInt16BE(n, 2)
  } else {
    b[1] = SHORT_MAX + 2
    b.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    b.writeUInt32BE(n >>> 0, 6)
  }
  b.set(payload, head)
  return b
}
