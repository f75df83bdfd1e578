import type { Frame } from './frames'

/**
 * The HTTP envelope: how frames travel in request and response bodies.
 *
 * Each record is a 5-byte header, then the payload: byte 0 is the kind (0 = text frame in
 * UTF-8, 1 = binary message), bytes 1..4 the payload length, big-endian. Text frames are the
 * same strings as on WebSocket; binary messages are their raw bytes, so binary costs 5 bytes
 * per message and no base64.
 */
export const HEADER = 5

const encoder = /* @__PURE__ */ (() => (typeof TextEncoder != 'undefined' ? new TextEncoder() : null))()

/** Encode frames into one body. */
export function encode(frames: Frame[]): Uint8Array {
  const parts = frames.map((f) => (typeof f == 'string' ? encoder!.encode(f) : f))
  const out = new Uint8Array(parts.reduce((size, p) => size + HEADER + p.length, 0))
  const view = new DataView(out.buffer)
  let at = 0
  parts.forEach((p, i) => {
    out[at] = typeof frames[i] == 'string' ? 0 : 1
    view.setUint32(at + 1, p.length)
    out.set(p, at + HEADER)
    at += HEADER + p.length
  })
  return out
}

/**
 * Incremental envelope parser: feed it chunks as they arrive, it calls `onFrame` for each
 * complete record. An explicit two-state machine (header, payload) that never copies a payload
 * it can slice from the chunk in hand, and joins a record that came in pieces once, when it is
 * complete.
 */
export class Parser {
  /** Pieces of the incomplete record at the end of what was pushed. */
  private _parts: Uint8Array[] = []
  private _held = 0
  /** Bytes that record needs in all, once its header is known. */
  private _need = 0
  private _decoder = new TextDecoder('utf-8', { fatal: true })

  /**
   * @param onFrame receives each frame.
   * @param max largest payload accepted; a bigger length throws before anything is allocated.
   */
  constructor(
    private _onFrame: (frame: Frame) => void,
    private _max: number,
  ) {}

  /** Bytes held waiting for the rest of a record (never more than `max` + 5). */
  get pending(): number {
    return this._held
  }

  /** Feed bytes; throws `RangeError` on a bad kind or length, `TypeError` on bad UTF-8. */
  push(chunk: Uint8Array): void {
    let buf = chunk
    if (this._held) {
      this._parts.push(chunk)
      // Not joined until the record can be complete: joining on every small chunk made a record
      // dribbled in pieces cost quadratic time (regression test in envelope.test.ts).
      if ((this._held += chunk.length) < (this._need || HEADER)) return
      buf = new Uint8Array(this._held)
      let o = 0
      for (const p of this._parts) buf.set(p, (o += p.length) - p.length)
      this._parts = []
      this._held = this._need = 0
    }
    let at = 0
    while (buf.length - at >= HEADER) {
      const kind = buf[at]
      const len = ((buf[at + 1] << 24) >>> 0) + (buf[at + 2] << 16) + (buf[at + 3] << 8) + buf[at + 4]
      if (kind > 1 || len > this._max) throw new RangeError('bad record ' + kind + '/' + len)
      if (buf.length - at - HEADER < len) {
        this._need = HEADER + len
        break
      }
      const body = buf.subarray(at + HEADER, at + HEADER + len)
      at += HEADER + len
      // Copy binary payloads: Node's Buffer#slice would share the chunk's memory.
      this._onFrame(kind ? Uint8Array.prototype.slice.call(body) : this._decoder.decode(body))
    }
    if (at < buf.length) this._parts.push(buf.subarray(at))
    this._held = buf.length - at
  }
}
