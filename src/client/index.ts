/**
 * Lifeline's client: what users may import. Explicit list, no `export *`.
 * @packageDocumentation
 */
import { LifelineCore } from './lifeline'
import { LifelineRacing } from './select'
import type { LifelineOptions } from './options'
import { PollingTransport } from './transports/polling'
import { StreamTransport } from './transports/stream'
import { WebSocketTransport } from './transports/websocket'
import { PlainTransport } from './transports/plain'

/**
 * A connection to a Lifeline server with every transport: WebSocket first, HTTP streaming and
 * long-polling when the network interferes.
 *
 * @example
 * const ll = new Lifeline('/rt')
 * ll.onmessage = (e) => console.log(e.data)
 * ll.send('hello')
 */
export class Lifeline extends LifelineRacing {
  constructor(url: string, options: LifelineOptions = {}) {
    // Plain mode: a plain WebSocket server can neither fall back nor resume.
    const plain = options.plain ? { transports: [PlainTransport], resume: false, storage: null } : {}
    super(url, Object.assign({}, options, plain), [WebSocketTransport, StreamTransport, PollingTransport])
  }
}

export { LifelineCore, LifelineRacing, WebSocketTransport, StreamTransport, PollingTransport, PlainTransport }
export { LifelineError } from '../protocol/errors'
export type { ErrorCode } from '../protocol/errors'
export type { DiagnoseReport, DiagnoseResult } from './select'
export { DEFAULTS } from './options'
export type { LifelineOptions, Logger, Storage } from './options'
export type { Clock } from './clock'
export type {
  State,
  Data,
  BaseEvent,
  OpenEvent,
  MessageEvent,
  CloseEvent,
  ErrorEvent,
  ReconnectingEvent,
  StateEvent,
  TransportEvent,
  ResetEvent,
  LifelineEvents,
} from './events'
export { Transport } from './transports/transport'
export type { TransportClass, TransportContext, TransportEvents, TransportName } from './transports/transport'
export { CloseCode } from '../protocol/frames'
export type { Frame, Hello } from '../protocol/frames'
