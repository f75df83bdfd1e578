/**
 * Where every timer comes from, so tests can drive time by hand: the client's `clock` option, and
 * the server's (`ServerClock` adds intervals).
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
