// A clock driven by hand, for the client's `clock` option and the server's `o.clock`: timers fire
// only when a test advances time, in order, each with the microtasks it queues. No sleeping.
import type { ServerClock } from '../../src/server/clock'

interface Timer {
  at: number
  fn: () => void
  id: number
  /** Repeats every this many ms (an interval); 0 for a timeout. */
  every: number
}

export class FakeClock implements ServerClock {
  t = 1_000_000
  private timers: Timer[] = []
  private ids = 0
  setTimeout = (fn: () => void, ms: number): number => this._add(fn, ms, 0)
  clearTimeout = (id: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== id)
  }
  setInterval = (fn: () => void, ms: number): number => this._add(fn, ms, Math.max(1, ms || 0))
  clearInterval = (id: unknown): void => this.clearTimeout(id)
  /** Nothing keeps a fake clock's process alive. */
  unref = (): void => {}
  now = (): number => this.t
  /** Advance time, firing due timers in order (and the microtasks they queue). */
  async tick(ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      await flush()
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id)
      const next = this.timers[0]
      if (!next || next.at > end) break
      this.t = Math.max(this.t, next.at)
      if (next.every) next.at += next.every
      else this.timers.shift()
      next.fn()
    }
    this.t = end
    await flush()
  }
  /** Jump the wall clock without firing anything (a laptop lid closed, a process frozen). */
  jump(ms: number): void {
    this.t += ms
  }
  get pending(): number {
    return this.timers.length
  }
  private _add(fn: () => void, ms: number, every: number): number {
    const id = ++this.ids
    this.timers.push({ at: this.t + Math.max(0, ms || 0), fn, id, every })
    return id
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}
