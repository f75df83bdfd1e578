// What a session holds for its client, bounded by one rule in one process (outbound.ts) and in
// cluster mode (cluster/owned.ts): how big a message `send()` takes, when what is held is too much
// (the session ends with 3900), and when the app hears `drain`. Each kind of session counts what
// it holds its own way (an outbox here, Redis's answers there) and asks this.
import { LifelineError } from '../protocol/errors'
import type { ServerResolved } from './options'

/** The options the rule reads. */
type Bounds = Pick<ServerResolved, 'maxMessageSize' | 'maxBufferedAmount' | 'maxQueueLength'>

/** @internal */
export class Backlog {
  /** What is held passed half of `maxBufferedAmount`: the app hears `drain` when it falls to a quarter. */
  private _drainWanted = false

  constructor(private readonly _o: Bounds) {}

  /** Bytes of message `d`. Throws `LL_ERR_MESSAGE_TOO_BIG` past `maxMessageSize`. */
  size(d: string | Buffer): number {
    const n = typeof d == 'string' ? Buffer.byteLength(d) : d.length
    const max = this._o.maxMessageSize
    if (n > max)
      throw new LifelineError('LL_ERR_MESSAGE_TOO_BIG', 'message of ' + n + ' bytes exceeds maxMessageSize ' + max)
    return n
  }

  /**
   * Whether one more message of `n` bytes may be held beside `bytes` in `count` messages. Counted
   * in messages too: a queue of empty messages costs memory and no bytes.
   */
  fits(bytes: number, count: number, n: number): boolean {
    return bytes + n <= this._o.maxBufferedAmount && count < this._o.maxQueueLength
  }

  /** `bytes` are held now, a message having been queued. */
  grew(bytes: number): void {
    if (bytes > this._o.maxBufferedAmount / 2) this._drainWanted = true
  }

  /** `bytes` are held now, some having been freed: true once, when the app is to hear `drain`. */
  shrank(bytes: number): boolean {
    if (!this._drainWanted || bytes > this._o.maxBufferedAmount / 4) return false
    this._drainWanted = false
    return true
  }
}
