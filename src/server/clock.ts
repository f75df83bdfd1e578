import type { Clock } from '../protocol/clock'

/**
 * The server's timers and wall clock: every timing rule (heartbeats, liveness, poll hold, parked
 * uploads, expiry, a cluster node's lease) reads time here, so unit tests drive it by hand
 * (docs/testing.md, "A server fake-clock test"). Internal: `o.clock`, the real one by default.
 * @internal
 */
export interface ServerClock extends Clock {
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(id: unknown): void
  /** Let timer `id` not keep the process alive (Node's `unref`): housekeeping, not work. */
  unref(id: unknown): void
}

/** Node's own timers and `Date.now()`. @internal */
export const serverClock: ServerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as NodeJS.Timeout),
  unref: (id) => void (id as NodeJS.Timeout).unref(),
  now: () => Date.now(),
}
