import type { Clock } from '../protocol/clock'
import type { Frame } from '../protocol/frames'

/**
 * Ended sessions' last words (close frame, perhaps messages the client never acknowledged) and
 * when they ended, so a late request learns the code instead of a guess. Kept `ttl`, at most
 * `max` of them, the oldest forgotten first; their bytes are counted through `account`
 * (the server's `maxTotalBuffered`).
 * @internal
 */
export class Tombs {
  private _m = new Map<string, { last: Frame[]; at: number; bytes: number }>()

  constructor(
    private _max: number,
    private _ttl: number,
    private _account: (bytes: number) => void,
    /** Whose `now` dates each burial (the server's). */
    private _clock: Pick<Clock, 'now'>,
  ) {}

  /** The last frames of ended session `id`, if still remembered. */
  get(id: string): Frame[] | undefined {
    const t = this._m.get(id)
    return t && t.last
  }

  /** Remember `last`; `bytes` are held even past the bound: the session just gave back as much. */
  bury(id: string, last: Frame[], bytes: number): void {
    this._account(bytes)
    this._m.set(id, { last, at: this._clock.now(), bytes })
    // Sessions ending faster than `ttl` forgets them: the oldest go first.
    for (const [old] of this._m) {
      if (this._m.size <= this._max) break
      this._forget(old)
    }
  }

  /** Forget those older than `ttl` (entries are in the order they ended). */
  sweep(now: number): void {
    for (const [id, t] of this._m) {
      if (now - t.at <= this._ttl) break
      this._forget(id)
    }
  }

  private _forget(id: string): void {
    const t = this._m.get(id)
    if (!t) return
    this._account(-t.bytes)
    this._m.delete(id)
  }
}
