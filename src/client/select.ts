import type { Connection } from './connection'
import type { Resolved } from './options'
import type { TransportClass } from './transports/transport'

/** The session as a {@link Selector} sees it: what it may read, and what it may ask for. */
export interface Candidates {
  readonly _options: Resolved
  /** The endpoint (what is remembered is per endpoint). */
  readonly _url: string
  /** Transports to use, in order of preference. */
  readonly _classes: TransportClass[]
  /** Connections open now, the active one among them. */
  readonly _conns: readonly Connection[]
  readonly _active?: Connection
  readonly _sessionId: string | null
  readonly _rtt: number
  /** Candidates left in this attempt. */
  _queue: TransportClass[]
  /** Why the next activation happens. */
  _why: string
  /** Open the next candidate of the queue. */
  _launchNext(): void
  /** Open a connection of class `C` now (an upgrade test). */
  _launch(C: TransportClass): Connection
  _drop(c: Connection): void
  _timer(fn: () => void, ms: number): unknown
  _clear(id: unknown): void
  _now(): number
  _log(...args: unknown[]): void
}

/**
 * How a session picks its transports: the order of an attempt's candidates, when to start the next,
 * what to learn from a connection's end. {@link inOrder} is the plain strategy; `racing.ts` races,
 * remembers and upgrades. A strategy only decides: the session opens, proves and drops connections.
 */
export interface Selector {
  /** Candidates of a new attempt, in order (may set `why` for the first). */
  _order(): TransportClass[]
  /**
   * Candidate `C` is about to be opened; `previous` is the one before it in this attempt, if any.
   */
  _launched(previous: Connection | undefined, C: TransportClass): void
  /** `c` proved both directions and carries the session now. */
  _proven(c: Connection): void
  /**
   * `c` ended. Returns what the session should make of it, or null when the strategy has dealt with
   * it (a failed background test while another connection carries the session).
   */
  _lost(c: Connection, reason: string, byNetwork?: boolean): { reason: string; byNetwork?: boolean } | null
  /** The session will retry after a pause: stop starting candidates. */
  _retrying(): void
  /** The heartbeat interval to ask the server for, ms. */
  _heartbeat(): number
  /** The session ended: stop every timer. */
  _stop(): void
}

/** Makes a session's strategy. */
export type SelectorFactory = (session: Candidates) => Selector

/**
 * The plain strategy (`LifelineCore`): one candidate at a time, in the given order; the next only
 * once the one before has failed or timed out (`connectTimeout`).
 */
export const inOrder: SelectorFactory = (session) => ({
  _order: () => session._classes.slice(),
  _launched: () => {},
  _proven: () => {},
  _lost: (c, reason, byNetwork) => ({ reason, byNetwork }),
  _retrying: () => {},
  _heartbeat: () => session._options.heartbeatInterval,
  _stop: () => {},
})
