import type { LifelineError } from '../protocol/errors'
import type { TransportName } from './transports/transport'

/** The states a connection moves through; `state` events report every change. */
export type State = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed'

/** A message as the app receives it, or as it is handed back after a reset. */
export type Data = string | ArrayBuffer | Blob

/** What `send()` takes. */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob

declare const json: unique symbol

/**
 * A string holding the JSON of a `T`, for the compiler only (a plain string at run time: 0 bytes).
 * Type messages with it, `new Lifeline<Json<ToClient>, Json<ToServer>>(url)`, and `JSON.parse` of
 * one is a `T`; a `T` becomes one by `JSON.stringify(t) as Json<T>`.
 */
export type Json<T> = string & { readonly [json]: T }

declare global {
  interface JSON {
    /** The `T` that a {@link Json} string holds. */
    parse<T>(text: Json<T>, reviver?: (this: unknown, key: string, value: unknown) => unknown): T
  }
}

/** What happened to one transport's connection: the `<what>` of a `<transport>-<what>` cause. */
export type TransportFailure =
  | 'refused'
  | 'hung'
  | 'silent'
  | 'buffered'
  | 'stalled'
  | 'dropped'
  | 'early-close'
  | 'closed'
  | 'failed'
  | 'empty'
  | 'upload-failed'
  | 'protocol'
  /** An HTTP status that is not Lifeline's own refusal: `404` (an app's, for a wrong path), `502`... */
  | `${number}`
  /** A POST answered with such a status (`upload-413`: a body parser in front, or `maxPostBytes`). */
  | `upload-${number}`

/**
 * Why a connection was lost or an attempt failed: the `cause` of `reconnecting`, and the reason
 * of the `close` after `maxRetries`. `session-closed-<code>`: the server ended the session with a
 * code that makes the client start a new one.
 */
export type Cause =
  | `${TransportName}-${TransportFailure}`
  | 'heartbeat-timeout'
  | 'protocol-error'
  | 'token-failed'
  | `session-closed-${number}`

/**
 * Why this transport carries the session: the `reason` of `transport`. `preferred` (first in
 * order), `remembered` (worked last time), `upgrade` (moved back to a better one), or what was
 * wrong with the one passed over.
 */
export type TransportReason = 'preferred' | 'remembered' | 'upgrade' | Cause

/** Why the old session ended: the `reason` of `reset`. */
export type ResetReason = `session-closed-${number}`

/** The `cause` of a `state` event. */
export type StateCause = TransportReason | 'close()' | 'reset' | `close-${number}`

/** Common fields, as on DOM events. */
export interface BaseEvent {
  type: string
  target: unknown
}

/** `open`: a session is up: the first, or a new one after a `reset`. */
export interface OpenEvent extends BaseEvent {
  /** True when this session replaces one the server could not resume (a `reset` came first). */
  reset: boolean
}

/** `message`: one application message, like the DOM `MessageEvent`. */
export interface MessageEvent<In extends Data = Data> extends BaseEvent {
  /** A string, or per `binaryType` a `Blob` or an `ArrayBuffer`. */
  data: In
}

/** `close`: the connection ended for good, like the DOM `CloseEvent`. */
export interface CloseEvent extends BaseEvent {
  code: number
  reason: string
  wasClean: boolean
  /** Messages sent but never acknowledged by the server: not known to have arrived. */
  unacked: Data[]
}

/** `error`: something went wrong; always carries a {@link LifelineError}. */
export interface ErrorEvent extends BaseEvent {
  error: LifelineError
  message: string
}

/** `reconnecting`: the connection dropped (or failed) and another attempt is scheduled. */
export interface ReconnectingEvent extends BaseEvent {
  /** 1 for the first retry after a drop. */
  attempt: number
  /** ms until the attempt. */
  delay: number
  /** Why: a named reason such as `websocket-dropped` or `heartbeat-timeout`. */
  cause: Cause
}

/** `state`: every change of {@link State}. */
export interface StateEvent extends BaseEvent {
  previous: State
  current: State
  cause: StateCause
}

/** `transport`: the transport carrying the session changed. */
export interface TransportEvent extends BaseEvent {
  name: TransportName
  /**
   * Why this one: `preferred`, `remembered`, `upgrade`, or what was wrong with the ones passed over
   * (`websocket-hung`...).
   */
  reason: TransportReason
  previous: TransportName | null
}

/**
 * `reset`: the server could not resume the session (it restarted, expired it, or a bound
 * overflowed), so a new one began. `open` follows, as for a first connection.
 */
export interface ResetEvent extends BaseEvent {
  reason: ResetReason
  /** Messages sent on the old session that it never acknowledged, in order, for the app to resend or drop. */
  unacked: Data[]
}

/**
 * `roomreset`: a room's messages were missed for longer than the server keeps them (the client was
 * away past the room's history), so they are gone; the room's new messages follow. Only from a
 * server that keeps rooms as logs (PROTOCOL.md §6.5).
 */
export interface RoomResetEvent extends BaseEvent {
  /** The room's name, as the server's app calls it. */
  room: string
}

/**
 * `delivered`: the server has acknowledged every message up to `seq` of this session (they are
 * numbered 1, 2, 3… in the order sent, afresh after a `reset`; `ll.sent` is the last one's). Not
 * with `resume: false`, which has no acknowledgements.
 */
export interface DeliveredEvent extends BaseEvent {
  seq: number
}

/** The event map of the emitter surface (`on`, `once`, `off`); `In` types the messages received. */
export interface LifelineEvents<In extends Data = Data> {
  open: [OpenEvent]
  message: [MessageEvent<In>]
  close: [CloseEvent]
  error: [ErrorEvent]
  reconnecting: [ReconnectingEvent]
  state: [StateEvent]
  transport: [TransportEvent]
  reset: [ResetEvent]
  roomreset: [RoomResetEvent]
  delivered: [DeliveredEvent]
}
