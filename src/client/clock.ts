/**
 * Where every timer comes from, so tests can drive time by hand.
 *
 * @example
 * new Lifeline('/rt', { clock: myFakeClock })
 */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(id: unknown): void
  /** Wall-clock milliseconds (`Date.now()`), so a throttled tab still sees real elapsed time. */
  now(): number
}

/** The browser's own timers and `Date.now()`. */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
  now: () => Date.now(),
}
