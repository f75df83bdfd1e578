import type { Counters } from './stats'
import type { Frame } from '../protocol/frames'
import type { SharedFrame } from './shared-frame'
import type { ServerResolved } from './options'

/**
 * A transport's connection as the session sees it (one per kind at a time). Internal, but in the
 * published types because `ServerSession`'s members name it.
 */
export interface Link {
  readonly name: 'websocket' | 'stream' | 'polling'
  /** Whether it can take frames now (a poll needs a request waiting). */
  ready(): boolean
  /** Write frames to the client. */
  write(frames: Frame[]): void
  /**
   * Write one frame that many links write as it is (a room message to its members), encoded once
   * for all of them. Absent: `write([f.frame])`. @internal
   */
  writeShared?(f: SharedFrame): void
  /** Stop it; the client will come back on another. `dead`: the peer is not answering, do not wait for it. */
  end(dead?: boolean): void
  /** Sequence number of the next application message arriving on it (WebSocket only). */
  inSeq: number
  /**
   * Keep what is written until as many `release()` calls, then write it at once (a poll: one answer
   * for what several reads write). Absent: each write goes at once anyway.
   */
  hold?(): void
  release?(): void
}

/**
 * What a link needs from the session it carries: the in-memory `ServerSession`, or in cluster
 * mode what one node holds of a session whose state is in Redis. Internal, but in the published
 * types because `ServerSession`'s members name it.
 */
export interface LinkOwner {
  readonly closed: boolean
  readonly _host: { o: ServerResolved }
  /** `l` arrived; `cursor`: what the client has of the session; `got`: its room positions (PROTOCOL.md §6.5). */
  _attach(l: Link, cursor: number, got?: ReadonlyMap<string, number>): void
  _detach(l: Link): void
  /** Frames from the client on link `via`. */
  _receive(frames: Frame[], via: Link): unknown
  /** End the session (the client's socket is past its bounds, or it broke the protocol). */
  _end(code: number, reason: string): void
}

/**
 * What a session (`S`) needs from its server. Internal, but in the published types because
 * `ServerSession`'s constructor names it.
 */
export interface SessionHost<S = unknown> {
  o: ServerResolved
  /** The client spoke for the first time: the session is real (emits `connection`). */
  confirm(s: S): void
  /** Account bytes across sessions; false when the total bound would be crossed. */
  reserve(n: number): boolean
  /** The session ended; `last` is what a late request for it is answered with. */
  gone(s: S, code: number, reason: string, last: Frame[]): void
  log(level: 'debug' | 'info' | 'warn', ...args: unknown[]): void
  /**
   * At `warn`, at most once a minute per `key`: what a client may cause over and over (a refused
   * body or session), told to the operator without flooding the log.
   */
  note(key: string, ...args: unknown[]): void
  /** Server-wide counters (absent in unit tests' hosts). @internal */
  stats?: Counters
  /** Room membership (`session.join`); a session leaves its rooms in `gone`. */
  rooms: RoomHost<S>
}

/** Where a session's rooms are kept: this process's memory, or the cluster's store. */
export interface RoomHost<S = unknown> {
  join(s: S, room: string): void
  leave(s: S, room: string): void
  of(s: S): string[]
}
