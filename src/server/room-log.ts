import type { Clock } from '../protocol/clock'
import { messageFrames, type Frame } from '../protocol/frames'
import { serverClock } from './clock'

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
  /** Each message's latest-value key (undefined: none), and how many kept have one. */
  private _keys: Array<string | undefined> = []
  private _keyed = 0

  constructor(
    /** Offset the next message gets. */
    public next: number,
    private readonly _size: number,
    private readonly _age: number,
    /** Whose `now` dates each message (the server's `o.clock`). */
    private readonly _clock: Pick<Clock, 'now'> = serverClock,
  ) {}

  /** Offset of the oldest message kept (`next` when none is). */
  get first(): number {
    this._trim()
    return this.next - this._data.length
  }

  /** Keep `d` (a latest value of `key`, if given); returns its offset. */
  append(d: string | Buffer, key?: string): number {
    this._data.push(d)
    this._at.push(this._clock.now())
    this._keys.push(key)
    if (key !== undefined) this._keyed++
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

  /**
   * The messages from offset `from` a member gets, in runs of consecutive offsets: all of them,
   * but of those with a latest-value key only the newest of each key.
   */
  runs(from: number): Array<{ first: number; frames: Frame[] }> {
    const base = this.next - this._data.length
    const start = Math.max(0, from - base)
    if (start >= this._data.length) return []
    if (!this._keyed) return [{ first: base + start, frames: this.frames(base + start, []) }]
    const keep: boolean[] = []
    const newer = new Set<string>()
    for (let i = this._data.length - 1; i >= start; i--) {
      const k = this._keys[i]
      keep[i] = k === undefined || !newer.has(k)
      if (k !== undefined) newer.add(k)
    }
    const runs: Array<{ first: number; frames: Frame[] }> = []
    for (let i = start; i < this._data.length;) {
      if (!keep[i]) {
        i++
        continue
      }
      let j = i
      while (j < this._data.length && keep[j]) j++
      runs.push({ first: base + i, frames: messageFrames(this._data, i, j, []) })
      i = j
    }
    return runs
  }

  /** Forget what is past the count or the age. */
  private _trim(): void {
    const old = this._clock.now() - this._age
    let k = Math.max(0, this._data.length - this._size)
    while (k < this._at.length && this._at[k] < old) k++
    if (!k) return
    this._data.splice(0, k)
    this._at.splice(0, k)
    for (const key of this._keys.splice(0, k)) if (key !== undefined) this._keyed--
  }
}
