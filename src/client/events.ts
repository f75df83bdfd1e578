import type { LifelineError } from '../protocol/errors'
import type { TransportName } from './transports/transport'

/** The states a connection moves through; `state` events report every change. */
export type State = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed'

/** A message as the app sent it, or as it is handed back after a reset. */
export type Data = string | ArrayBuffer | Blob

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
export interface MessageEvent extends BaseEvent {
  /** A string, or per `binaryType` a `Blob` or an `ArrayBuffer`. */
  data: Data
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
  cause: string
}

/** `state`: every change of {@link State}. */
export interface StateEvent extends BaseEvent {
  previous: State
  current: State
  cause: string
}

/** `transport`: the transport carrying the session changed. */
export interface TransportEvent extends BaseEvent {
  name: TransportName
  /** Why this one: `preferred`, `remembered`, `upgrade`, or what was wrong with the ones passed over (`websocket-hung`...). */
  reason: string
  previous: TransportName | null
}

/**
 * `reset`: the server could not resume the session (it restarted, expired it, or a bound
 * overflowed), so a new one began. `open` follows, as for a first connection.
 */
export interface ResetEvent extends BaseEvent {
  reason: string
  /** Messages sent on the old session that it never acknowledged, in order, for the app to resend or drop. */
  unacked: Data[]
}

/** The event map of the emitter surface (`on`, `once`, `off`). */
export interface LifelineEvents {
  open: [OpenEvent]
  message: [MessageEvent]
  close: [CloseEvent]
  error: [ErrorEvent]
  reconnecting: [ReconnectingEvent]
  state: [StateEvent]
  transport: [TransportEvent]
  reset: [ResetEvent]
}
