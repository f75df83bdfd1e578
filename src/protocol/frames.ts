/**
 * The Lifeline wire format, shared by client and server (PROTOCOL.md is its prose).
 *
 * A frame is either a string, whose first character says what it is, or bytes: a binary
 * application message. On WebSocket each frame is one WebSocket frame; over HTTP frames are
 * wrapped in the envelope of `envelope.ts`.
 */

/** Protocol version, sent as `v` on every request. */
export const VERSION = 1

/** A text frame (first character is its type) or a binary application message. */
export type Frame = string | Uint8Array

/** The first character of each kind of text frame. */
export const enum T {
  /** `m<text>`: one text application message. */
  Message = 'm',
  /** `M<JSON array of strings>`: several text application messages in order. */
  Batch = 'M',
  /** `s<n>`: the next application message on this connection has sequence number n. */
  Seq = 's',
  /**
   * `u<k>` (client only): carry the session on this connection from now on. `k` counts up per
   * session so a late, repeated request cannot switch back.
   */
  Use = 'u',
  /** `a<n>`: every application message up to and including n has been received. */
  Ack = 'a',
  /** `p[token]`: ping; answer at once with `q` and the same token. */
  Ping = 'p',
  /** `q[token]`: pong. */
  Pong = 'q',
  /** `o<JSON>`: the server's hello on each new connection, see {@link Hello}. */
  Open = 'o',
  /** `c<code> <reason>`: the session ends for good. */
  Close = 'c',
  /** `e<CODE> <message>`: an error report; a close usually follows. */
  Error = 'e',
}

/** The JSON body of an `o` frame. */
export interface Hello {
  /** Protocol version the server speaks. */
  v: number
  /** Session id. A different id from the one the client asked for means a new session. */
  sid: string
  /** Application messages the server has received from the client so far. */
  ack: number
  /** Heartbeat interval in ms: the server pings at least this often when otherwise silent. */
  hb: number
  /** Largest application message, in bytes, the server accepts. */
  max: number
  /** Poll hold time in ms (polling only). */
  hold?: number
}

/**
 * A hello a client can act on: an id, and whole numbers, with a heartbeat a timer can hold (past
 * 2^31 ms timers fire at once, so a huge one spun the client; plain mode says 1e9).
 */
export const isHello = (x: any): x is Hello =>
  x && typeof x.sid == 'string' && x.sid && [x.ack, x.hb, x.max].every(Number.isInteger) && x.ack >= 0 && x.hb > 0 && x.hb <= 1e9 && x.max > 0

/** Close codes: WebSocket's where one fits, 4xxx for Lifeline's own. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL: 1006,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  /** The session's unacknowledged data outgrew its bound. */
  BUFFER_OVERFLOW: 4000,
  /** The session expired or is unknown to the server (for example after a restart). */
  SESSION_EXPIRED: 4001,
  /** The client stopped answering heartbeats and did not come back within the session TTL. */
  HEARTBEAT_TIMEOUT: 4002,
  /** Too many sessions, in total or from one address. */
  TOO_MANY_SESSIONS: 4029,
  /** Gateway mode: the upstream WebSocket server could not be reached or refused. */
  UPSTREAM_UNREACHABLE: 4502,
  /** Gateway mode: the upstream WebSocket closed abnormally. */
  UPSTREAM_LOST: 4503,
} as const

/**
 * Whether a client should start a new session after the server closed with `code`: the server
 * went away, restarted or is full (1001, 1011, 1012, 1013), dropped the session for a reason of
 * its own (4000-4002), or has too many from the client's address (4029: many users behind one
 * NAT; a slot frees). Every other code ends the connection for good.
 */
export function isResumable(code: number): boolean {
  return code == 1001 || (code >= 1011 && code <= 1013) || (code >= 4000 && code <= 4002) || code == 4029
}

/** Parse the decimal number after a frame's type character; NaN when malformed. */
export function num(frame: string): number {
  return /^\d{1,15}$/.test(frame.slice(1)) ? +frame.slice(1) : NaN
}

/** Build a close frame. */
export function closeFrame(code: number, reason: string): string {
  return T.Close + code + ' ' + reason
}

/** Split a close (`c`) or error (`e`) frame body into its code and text. */
export function splitFrame(frame: string): [string, string] {
  const sp = frame.indexOf(' ')
  return sp < 0 ? [frame.slice(1), ''] : [frame.slice(1, sp), frame.slice(sp + 1)]
}
