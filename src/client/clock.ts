import type { Clock } from '../protocol/clock'

export type { Clock }

/** The browser's own timers and `Date.now()`. */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
  now: () => Date.now(),
}
