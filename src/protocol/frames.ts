import { BATCH_CHARS } from './limits'

/**
 * The Lifeline wire format, shared by client and server (PROTOCOL.md is its prose).
 *
 * A frame is either a string, whose first character says what it is, or bytes: a binary
 * application message. On WebSocket each frame is one WebSocket frame; over HTTP frames are
 * wrapped in the envelope of `envelope.ts`.
 */

/**
 * Protocol version, sent as `v` on every request. Version 2 moved Lifeline's own close codes
 * from 4000-4999 (the applications' range in RFC 6455 §7.4.2) to 3900-3999 (PROTOCOL.md §7.1).
 */
export const VERSION = 2

/** A text frame (first character is its type) or a binary application message. */
export type Frame = string | Uint8Array

/** The first character of each kind of text frame. */
export const enum FrameType {
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
  /**
   * `w<n>` (server only, in an upload's answer, to a client that asked with `w=1`): the server has
   * application messages up to n for the client, written on the download or waiting for it
   * (PROTOCOL.md §8.3).
   */
  Owed = 'w',
  /**
   * `r<n> <room>` (server only, to a client that sent `g`): the next application message on this
   * connection is room `room`'s message `n`, each after it the room's next, until an `s` or `r`
   * frame (PROTOCOL.md §6.5). `r0 <room>` (offset 0 is never a message's): the session is not in
   * `room`, the client drops its position there; `s` or another `r` follows before any message.
   */
  Room = 'r',
  /**
   * `x<n> <room>` (server only, to a client that sent `g`): the room's history no longer holds what
   * the client was missing; it goes on from message `n` (a room reset, PROTOCOL.md §6.5).
   */
  RoomReset = 'x',
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

/**
 * A transport's name, in the default order of preference: what the `t` query parameter says
 * (PROTOCOL.md §1), `session.transport` on the server and `ll.transport` on the client.
 */
export type TransportName = 'websocket' | 'stream' | 'polling'

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
  /**
   * Largest POST body, in bytes, the server takes (its `maxPostBytes`); servers before 0.2 leave
   * it out, and clients then keep their own bound on a body.
   */
  post?: number
}

/**
 * A hello a client can act on: an id, and whole numbers, with a heartbeat a timer can hold (past
 * 2^31 ms timers fire at once, so a huge one spun the client; plain mode says 1e9).
 */
export function isHello(x: any): x is Hello {
  if (!x || typeof x.sid != 'string' || !x.sid) return false
  // `post` is optional (older servers leave it out); a bad one would stall every upload.
  const post = x.post || 1
  if (![x.ack, x.hb, x.max, post].every(Number.isInteger)) return false
  return x.ack >= 0 && x.hb > 0 && x.hb <= 1e9 && x.max > 0 && post > 0
}

/**
 * Close codes: WebSocket's where one fits, 3900-3999 for Lifeline's own. 4000-4999 belong to the
 * application (RFC 6455 §7.4.2) and pass between the two sides untouched. A `const enum`, so the
 * code inside Lifeline uses bare numbers; {@link CloseCode} is the same table for apps.
 */
export const enum Code {
  NORMAL = 1000,
  GOING_AWAY = 1001,
  PROTOCOL_ERROR = 1002,
  UNSUPPORTED_DATA = 1003,
  NO_STATUS = 1005,
  ABNORMAL = 1006,
  POLICY_VIOLATION = 1008,
  MESSAGE_TOO_BIG = 1009,
  INTERNAL_ERROR = 1011,
  SERVICE_RESTART = 1012,
  TRY_AGAIN_LATER = 1013,
  /** The session's unacknowledged data outgrew its bound. */
  BUFFER_OVERFLOW = 3900,
  /** The session expired or is unknown to the server (for example after a restart). */
  SESSION_EXPIRED = 3901,
  /** The client stopped answering heartbeats and did not come back within the session TTL. */
  HEARTBEAT_TIMEOUT = 3902,
  /** Too many sessions, in total or from one address. */
  TOO_MANY_SESSIONS = 3929,
  /** Gateway mode: the upstream WebSocket server could not be reached or refused. */
  UPSTREAM_UNREACHABLE = 3952,
  /** Gateway mode: the upstream WebSocket closed abnormally. */
  UPSTREAM_LOST = 3953,
  /** First and last of the codes Lifeline keeps for itself: an application may not close with them. */
  OWN_FROM = 3900,
  OWN_TO = 3999,
}

/**
 * The close codes by name, for apps (README "Close codes"): WebSocket's where one fits, 3900-3999
 * for Lifeline's own; 4000-4999 are the application's.
 *
 * @example
 * ll.on('close', (e) => { if (e.code === Code.SESSION_EXPIRED) showExpired() })
 */
export const CloseCode = {
  NORMAL: Code.NORMAL,
  GOING_AWAY: Code.GOING_AWAY,
  PROTOCOL_ERROR: Code.PROTOCOL_ERROR,
  UNSUPPORTED_DATA: Code.UNSUPPORTED_DATA,
  NO_STATUS: Code.NO_STATUS,
  ABNORMAL: Code.ABNORMAL,
  POLICY_VIOLATION: Code.POLICY_VIOLATION,
  MESSAGE_TOO_BIG: Code.MESSAGE_TOO_BIG,
  INTERNAL_ERROR: Code.INTERNAL_ERROR,
  SERVICE_RESTART: Code.SERVICE_RESTART,
  TRY_AGAIN_LATER: Code.TRY_AGAIN_LATER,
  BUFFER_OVERFLOW: Code.BUFFER_OVERFLOW,
  SESSION_EXPIRED: Code.SESSION_EXPIRED,
  HEARTBEAT_TIMEOUT: Code.HEARTBEAT_TIMEOUT,
  TOO_MANY_SESSIONS: Code.TOO_MANY_SESSIONS,
  UPSTREAM_UNREACHABLE: Code.UPSTREAM_UNREACHABLE,
  UPSTREAM_LOST: Code.UPSTREAM_LOST,
} as const

/** Whether an application may close a session with `code`: 1000, or 3000-4999 but Lifeline's own. */
export function isAppCloseCode(code: number): boolean {
  const inRange = code >= 3000 && code <= 4999 && !(code >= Code.OWN_FROM && code <= Code.OWN_TO)
  return Number.isInteger(code) && (code == Code.NORMAL || inRange)
}

/**
 * Whether a client should start a new session after the server closed with `code`: the server
 * went away, restarted or is full (1001, 1011, 1012, 1013), dropped the session for a reason of
 * its own (3900-3902), or has too many from the client's address (3929: many users behind one
 * NAT; a slot frees). Every other code ends the connection for good, the application's among them.
 */
export function isResumable(code: number): boolean {
  const serverGone = code == Code.GOING_AWAY || (code >= Code.INTERNAL_ERROR && code <= 1013)
  const dropped = code >= Code.BUFFER_OVERFLOW && code <= Code.HEARTBEAT_TIMEOUT
  return serverGone || dropped || code == Code.TOO_MANY_SESSIONS
}

/** Parse the decimal number after a frame's type character; NaN when malformed. */
export function num(frame: string): number {
  return /^\d{1,15}$/.test(frame.slice(1)) ? +frame.slice(1) : NaN
}

/**
 * `r0 <room>`: the session is not in `room` (any more), for a client that may hold a position in it
 * (PROTOCOL.md §6.5). The sender writes `s` or an `r` with an offset before its next message.
 */
export function leftFrame(room: string): string {
  return FrameType.Room + '0 ' + room
}

/** Version 1 numbered Lifeline's own close codes 4000-4999: what a version 1 client understands. */
const V1_CODES: { [code: number]: number } = { 3900: 4000, 3901: 4001, 3902: 4002, 3929: 4029, 3952: 4502, 3953: 4503 }

/** Build a close frame, for a client speaking protocol `version` (PROTOCOL.md §7.1). */
export function closeFrame(code: number, reason: string, version = VERSION): string {
  return FrameType.Close + ((version < 2 && V1_CODES[code]) || code) + ' ' + reason
}

/** Split a close (`c`) or error (`e`) frame body into its code and text. */
export function splitFrame(frame: string): [string, string] {
  const sp = frame.indexOf(' ')
  return sp < 0 ? [frame.slice(1), ''] : [frame.slice(1, sp), frame.slice(sp + 1)]
}

/**
 * Frames for the application messages `list[from..to)`, in order, consecutive texts batched into
 * `M` frames of at most about {@link BATCH_CHARS} characters (PROTOCOL.md §2); added to `frames`.
 */
export function messageFrames(list: ReadonlyArray<unknown>, from: number, to: number, frames: Frame[]): Frame[] {
  let texts: string[] = []
  let chars = 0
  const batch = () => {
    if (texts.length == 1) frames.push(FrameType.Message + texts[0])
    else if (texts.length) frames.push(FrameType.Batch + JSON.stringify(texts))
    texts = []
    chars = 0
  }
  for (let i = from; i < to; i++) {
    const m = list[i] as Frame
    if (typeof m != 'string') {
      batch()
      frames.push(m)
      continue
    }
    if (chars + m.length > BATCH_CHARS) batch()
    texts.push(m)
    chars += m.length
  }
  batch()
  return frames
}
