import { messageFrames, type Frame } from '../protocol/frames'

/**
 * One room's messages in one process (PROTOCOL.md §6.5, docs/scaling.md "Rooms"): kept once for
 * every member, numbered by offset, the last `size` of them for at most `age` ms. A member's place
 * in it is an offset its client holds; nothing is kept per member.
 *
 * @example
 * const log = new RoomLog(1, 100, 60000)
 * log.append('EUR 1.08')   // 1
 * log.frames(1, [])        // ['mEUR 1.08']
 * @internal
 */
export class RoomLog {
  private _data: Array<string | Buffer> = []
  private _at: number[] = []

  constructor(
    /** Offset the next message gets. */
    public next: number,
    private readonly _size: number,
    private readonly _age: number,
    private readonly _now: () => number = Date.now,
  ) {}

  /** Offset of the oldest message kept (`next` when none is). */
  get first(): number {
    this._trim()
    return this.next - this._data.length
  }

  /** Keep `d`; returns its offset. */
  append(d: string | Buffer): number {
    this._data.push(d)
    this._at.push(this._now())
    this._trim()
    return this.next++
  }

  /**
   * Frames for the messages from offset `from` (at least `first`) to the newest, batched as the
   * session's own are (`M` for consecutive texts), added to `frames`.
   */
  frames(from: number, frames: Frame[]): Frame[] {
    const base = this.next - this._data.length
    return messageFrames(this._data, Math.max(0, from - base), this._data.length, frames)
  }

  /** Forget what is past the count or the age. */
  private _trim(): void {
    const old = this._now() - this._age
    let k = Math.max(0, this._data.length - this._size)
    while (k < this._at.length && this._at[k] < old) k++
    if (!k) return
    this._data.splice(0, k)
    this._at.splice(0, k)
  }
}
