import { messageFrames, type Frame } from './frames'

/**
 * What a sender keeps until it is acknowledged (PROTOCOL.md §6): its messages numbered from
 * `base` up, which of them are already on the current connection, and their bytes. Both the
 * client and the server session own one.
 *
 * A message not ready to go (the client reads a `Blob` to bytes first) keeps its place: nothing
 * after it goes out before it, so order holds.
 *
 * @example
 * const out = new Outbox<string>()
 * out.push('hi', 2)
 * const { frames, from } = out.take()! // frames ['mhi'], from 1
 * out.acknowledge(1)                   // true; out.bytes is 0 again
 */
export class Outbox<D = Frame> {
  /** Sequence number of the oldest message kept. */
  _base = 1
  /** Bytes kept (what `bufferedAmount` reports). */
  _bytes = 0
  private _data: D[] = []
  private _sizes: number[] = []
  /** How many of the kept messages, from the oldest, are on the current connection. */
  private _sent = 0
  /** Highest sequence number ever put on a connection. */
  private _highest = 0

  /** Messages kept. */
  get _count(): number {
    return this._data.length
  }

  /** Sequence number the next message put on the connection gets. */
  get _next(): number {
    return this._base + this._sent
  }

  /** Messages on the current connection not yet acknowledged. */
  get _inFlight(): number {
    return this._sent
  }

  /** Bytes of the oldest message kept (0 when none is). */
  get _oldestSize(): number {
    return this._sizes.length ? this._sizes[0] : 0
  }

  /** Whether messages wait to be put on the connection. */
  get _unsent(): boolean {
    return this._sent < this._data.length
  }

  /** Keep a message of `bytes` bytes; it gets number `base + length`. */
  _push(data: D, bytes: number): void {
    this._data.push(data)
    this._sizes.push(bytes)
    this._bytes += bytes
  }

  /** Replace a kept message that was not ready (a `Blob` now read to bytes). */
  _replace(old: D, data: D): void {
    const i = this._data.indexOf(old)
    if (i >= 0) this._data[i] = data
  }

  /**
   * Frames for messages not yet on the connection, up to about `maxBytes` or `maxMessages`, or up
   * to the first that is not ready; they count as sent from now on. `from` is the sequence number
   * of the first. Null when there is nothing to take.
   */
  _take(maxBytes = Infinity, maxMessages = Infinity): { frames: Frame[]; from: number } | null {
    const from = this._next
    let end = this._sent
    let bytes = 0
    while (end < this._data.length && end - this._sent < maxMessages && bytes <= maxBytes) {
      const d = this._data[end]
      if (typeof d != 'string' && !(d instanceof Uint8Array)) break
      bytes += this._sizes[end++]
    }
    if (end == this._sent) return null
    const frames = messageFrames(this._data, this._sent, end, [])
    this._sent = end
    this._highest = Math.max(this._highest, this._base + end - 1)
    return { frames, from }
  }

  /** Frames for every message kept, from the oldest (a session's last words). */
  _all(): Frame[] {
    return messageFrames(this._data, 0, this._data.length, [])
  }

  /** Put everything kept on the connection again, from the oldest (a connection starts carrying the session). */
  _rewind(): void {
    this._sent = 0
  }

  /**
   * The other side has every message up to `n`: forget them. Returns the bytes freed, or -1 when `n`
   * acknowledges messages that were never kept (a lying or confused peer).
   */
  _acknowledge(n: number): number {
    const k = n - this._base + 1
    if (k > this._data.length) return -1
    if (k <= 0) return 0
    let freed = 0
    for (const size of this._sizes.splice(0, k)) freed += size
    this._data.splice(0, k)
    this._base += k
    this._sent = Math.max(0, this._sent - k)
    this._bytes -= freed
    return freed
  }

  /** Forget what is on the connection as if acknowledged (fire-and-forget); returns the bytes freed. */
  _forgetSent(): number {
    return this._acknowledge(this._base + this._sent - 1)
  }

  /**
   * Take back messages never acknowledged, and number afresh from 1 (the session was lost). With
   * `keepUnsent`, messages that never left stay kept for the new session: only those that may or may
   * not have reached the old one come back.
   */
  _takeBack(keepUnsent?: boolean): D[] {
    const count = keepUnsent ? Math.max(0, this._highest - this._base + 1) : this._data.length
    const gone = this._data.splice(0, count)
    for (const size of this._sizes.splice(0, count)) this._bytes -= size
    this._base = 1
    this._sent = 0
    this._highest = 0
    return gone
  }
}
