import type { Hello } from '../protocol/frames'
import type { Transport } from './transports/transport'

/** How far a connection attempt has come. */
export const enum Stage {
  /** Opening: nothing from the network yet. */
  Started,
  /** The network connection is up (WebSocket open, HTTP response headers in). */
  Connected,
  /** The server's hello arrived: server→client works. */
  Greeted,
  /** The proof ping was answered: client→server works too. Only now may it carry the session. */
  Proven,
}

/**
 * One transport attempt and what it has shown so far. The session keeps one per candidate (a
 * race, an upgrade test) and moves the session onto one that is proven.
 */
export class Connection {
  _stage = Stage.Started
  /** The server's hello, once received. */
  _hello?: Hello
  /** Sequence number of the next application message that arrives on it (0: no `s` frame yet). */
  _nextSeq = 0
  /** The room whose messages come next on it (after an `r` frame, PROTOCOL.md §6.5); empty: the session's own. */
  _room = ''
  /** When it started. */
  _startedAt = 0
  /** When the proof ping went out, and when it was answered. */
  _probedAt = 0
  _provenAt = 0
  /** Whether it moved the session on while carrying it: acknowledged or delivered a message. */
  _progressed = false
  /**
   * Messages that came in before any connection carried the session (a server's welcome right
   * after its hello, ahead of the proof pong): delivered once this one carries it, after `open`.
   */
  _held?: [seq: number, data: string | Uint8Array, room: string][]
  /** Connect deadline timer. */
  _deadline?: unknown

  constructor(
    readonly _transport: Transport,
    /** Session id it was opened for (undefined: it asks for a new session). */
    public _sid: string | undefined,
  ) {}

  get _name(): Transport['name'] {
    return this._transport.name
  }

  /**
   * Why it has not proven itself yet: `-hung` (no connection), `-silent` (connected, no traffic
   * both ways), or for a stream with nothing to show, `-buffered` (proxies that buffer may hold
   * even the response headers).
   */
  _stalled(): string {
    if (this._name == 'stream' && this._stage < Stage.Greeted) return 'stream-buffered'
    return this._name + (this._stage > Stage.Started ? '-silent' : '-hung')
  }
}
