import EventEmitter from 'eventemitter3'
import type { Frame, TransportName } from '../../protocol/frames'
import type { Clock } from '../clock'

/** What a transport is told when it opens. */
export interface TransportContext {
  /**
   * The URL for a request: the endpoint plus the current query (sid, the ack cursor...); a
   * connection-opening request (`opening`) asks for a hello too.
   */
  url(t: Transport, opening?: boolean): string
  /** The endpoint as the app gave it, absolute (plain mode connects to exactly this). */
  endpoint: string
  /** Application messages received so far in this session (plain mode numbers on from it). */
  cursor(): number
  WebSocket: typeof WebSocket
  fetch?: typeof fetch
  withCredentials: boolean
  maxMessageSize: number
  clock: Clock
  /** Heartbeat interval, ms (plain mode pings on it). */
  heartbeat: number
  /** Plain mode: an application message to send as a ping every heartbeat interval. */
  plainPing?: string
}

/** Events every transport emits; a transport never retries: it reports, the session decides. */
export interface TransportEvents {
  /** The network connection is up (WebSocket open, HTTP response headers in). */
  open: []
  /** A frame arrived. */
  message: [frame: Frame]
  /**
   * Frames that arrived together (a poll's answer); `then` is to run once the session has counted
   * them and before it hands them to the app: the next poll goes out there, with the cursor.
   */
  batch: [frames: Frame[], then: () => void]
  /** The transport is finished; `reason` names why, `error` says more when there is one. */
  close: [reason: string, error?: Error]
}

export type { TransportName }

/**
 * The one interface every transport implements: a subclass connects in `open()`, reports with
 * its events, and names itself with a static `transportName`.
 *
 * @example
 * class MyTransport extends Transport { static get transportName() { return 'polling' as const } ... }
 */
export abstract class Transport extends EventEmitter<TransportEvents> {
  /** Session id this transport speaks for, once known (set by the session). */
  sid?: string
  /** Wall-clock time of the last bytes received. @internal */
  _last: number
  /** Set once closed, so late callbacks from the network are ignored. @internal */
  _done?: boolean
  /** The largest POST body the server takes, from its hello (an HTTP transport's bound). @internal */
  _maxPost?: number
  /** This transport's name: its class's `transportName` unless a subclass sets its own. */
  readonly name: TransportName

  constructor(/** @internal */ public readonly _ctx: TransportContext) {
    super()
    // One assignment here instead of a constructor per transport class in the bundle.
    this.name = (this.constructor as TransportClass).transportName
    this._last = _ctx.clock.now()
  }

  /**
   * A socket: an `a` frame costs a few bytes, so acknowledgements go out 100 ms after a message
   * rather than waiting 5 s for company (over HTTP each is a whole POST).
   */
  get isSocket(): boolean {
    return false
  }

  /**
   * Its requests carry the client's cursor often enough (every poll does) that an `a` frame is
   * never needed.
   */
  get pollsCursor(): boolean {
    return false
  }

  /** Start connecting; events follow. */
  abstract open(): void

  /** Send frames, in order. `seq` is the sequence number of the first message among them. */
  abstract send(frames: Frame[], seq: number): void

  /** Send last frames (a goodbye), then close once they are on their way. */
  end(frames: Frame[], seq: number): void {
    this.send(frames, seq)
    this.close()
  }

  /** Close without a goodbye; idempotent. */
  close(): void {
    this._end('closed')
  }

  /** Report the end once, then release the network resources. @internal */
  _end(reason: string, error?: Error): void {
    if (this._done) return
    this._done = true
    this._stop()
    this.emit('close', reason, error)
    this.removeAllListeners()
  }

  /** Deliver a frame unless closed. @internal */
  _frame(f: Frame): void {
    if (this._done) return
    this._last = this._ctx.clock.now()
    this.emit('message', f)
  }

  /** Release network resources. @internal */
  protected abstract _stop(): void
}

/** A transport class, as passed in the `transports` option. */
export interface TransportClass {
  new (ctx: TransportContext): Transport
  readonly transportName: TransportName
  /** Whether this environment can run the transport at all. */
  isSupported(ctx: TransportContext): boolean
}
