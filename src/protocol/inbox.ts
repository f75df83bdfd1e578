import { ACK_BYTES, ACK_MESSAGES } from './limits'

/** What a receiver makes of an arriving message (PROTOCOL.md §6.1). */
export const enum Arrival {
  /** The next one: hand it to the application. */
  Deliver,
  /** Already received: drop it. */
  Duplicate,
  /** Messages before it are missing: a protocol error when reliable. */
  Gap,
}

/**
 * What a receiver counts (PROTOCOL.md §6): the highest sequence number received, duplicates and
 * gaps, and when an acknowledgement is due. Both the client and the server session own one.
 *
 * @example
 * const inbox = new Inbox(true)
 * inbox.arrive(1, 5) // Arrival.Deliver
 * inbox.arrive(1, 5) // Arrival.Duplicate
 * inbox.ack()        // 1: send `a1`
 */
export class Inbox {
  /** Highest sequence number received. */
  _received = 0
  /** Highest sequence number acknowledged to the sender. */
  _acked = 0
  /** Bytes received since the last acknowledgement. */
  private _bytes = 0

  /** @param _reliable false for fire-and-forget, where gaps are accepted (PROTOCOL.md §6.4). */
  constructor(private readonly _reliable: boolean) {}

  /** A message numbered `seq`, of `size` bytes, arrived. */
  _arrive(seq: number, size: number): Arrival {
    if (seq <= this._received) return Arrival.Duplicate
    if (seq > this._received + 1 && this._reliable) return Arrival.Gap
    this._received = seq
    this._bytes += size
    return Arrival.Deliver
  }

  /** Whether an acknowledgement up to `upTo` should go at once: 128 messages or about 1 MiB waiting. */
  _due(upTo = this._received): boolean {
    return upTo - this._acked >= ACK_MESSAGES || this._bytes > ACK_BYTES
  }

  /** Whether anything up to `upTo` is not acknowledged yet. */
  _pending(upTo = this._received): boolean {
    return upTo > this._acked
  }

  /** Count `upTo` as acknowledged (by an `a` frame or a request's cursor) and bytes afresh; returns it. */
  _ack(upTo = this._received): number {
    this._bytes = 0
    this._acked = upTo
    return upTo
  }

  /** Start again from nothing (a new session). */
  _reset(): void {
    this._received = this._acked = this._bytes = 0
  }
}
