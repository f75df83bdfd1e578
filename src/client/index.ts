/**
 * Lifeline's client: what users may import. Explicit list, no `export *`.
 * @packageDocumentation
 */
import { LifelineError } from '../protocol/errors'
import type { Data, SendData } from './events'
import { LifelineCore } from './lifeline'
import type { LifelineOptions } from './options'
import { racing } from './racing'
import type { SelectorFactory } from './select'
import { LifelinePlain } from './plain'
import { PlainTransport } from './transports/plain'
import { PollingTransport } from './transports/polling'
import { StreamTransport } from './transports/stream'
import { WebSocketTransport } from './transports/websocket'

/**
 * Lifeline with transport selection: races candidates (the next starts when the current has not
 * proven itself within `raceDelay` plus the round trip), keeps the first to prove both
 * directions, remembers what worked per endpoint, learns a proxy's idle timeout, demotes a
 * transport that keeps dying early, and re-tests a better transport in the background to move
 * the session back to it. Ships only the transports it is given; `Lifeline` is this with all.
 *
 * @example
 * new LifelineRacing('/rt', { transports: [WebSocketTransport, PollingTransport] })
 */
export class LifelineRacing<In extends Data = Data, Out extends SendData = SendData> extends LifelineCore<In, Out> {
  /** @internal */
  override _selector(): SelectorFactory {
    return racing
  }
}

/**
 * A connection to a Lifeline server with every transport: WebSocket first, HTTP streaming and
 * long-polling when the network interferes.
 *
 * @example
 * const ll = new Lifeline('/rt')
 * ll.onmessage = (e) => console.log(e.data)
 * ll.send('hello')
 *
 * // Messages typed for the compiler (nothing is checked at run time):
 * const typed = new Lifeline<`quote:${string}`, `order:${string}`>('/rt')
 */
export class Lifeline<In extends Data = Data, Out extends SendData = SendData> extends LifelineRacing<In, Out> {
  constructor(url: string, options: LifelineOptions = {}) {
    // An option of earlier, unreleased builds: honouring it now would speak Lifeline's protocol to a plain server.
    if ((options as { plain?: boolean }).plain)
      throw new LifelineError('LL_ERR_INVALID_OPTION', 'plain mode is LifelinePlain now (README "Plain mode")')
    super(url, options, [WebSocketTransport, StreamTransport, PollingTransport])
  }
}

export { LifelineCore, LifelinePlain, WebSocketTransport, StreamTransport, PollingTransport, PlainTransport }
export { LifelineError }
export type { ErrorCode } from '../protocol/errors'
export { DEFAULTS } from './options'
export type { LifelineOptions, Logger, LogLevel, Storage } from './options'
export type { SendOptions } from './lifeline'
export type { Clock } from './clock'
export type {
  State,
  Data,
  SendData,
  TransportFailure,
  Cause,
  TransportReason,
  ResetReason,
  StateCause,
  BaseEvent,
  OpenEvent,
  MessageEvent,
  CloseEvent,
  ErrorEvent,
  ReconnectingEvent,
  StateEvent,
  TransportEvent,
  ResetEvent,
  RoomResetEvent,
  DeliveredEvent,
  LifelineEvents,
  Json,
} from './events'
export { Transport } from './transports/transport'
export type { TransportClass, TransportContext, TransportEvents, TransportName } from './transports/transport'
export { CloseCode } from '../protocol/frames'
export type { Frame, Hello } from '../protocol/frames'
