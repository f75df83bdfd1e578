import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { LifelineError } from '../protocol/errors'
import type { SessionHost } from './link'
import type { TransportName } from './options'
import { checkClose, emitSafely, payload, type ServerSessionEvents, type SessionData } from './session-api'

export type { Link, SessionHost } from './link'

/**
 * Where a session's messages are numbered and kept, and how they reach its client and the app: in
 * one process this process's memory (`LocalSession`, local-session.ts), in cluster mode Redis
 * (`OwnedSession`, cluster/owned.ts). A {@link ServerSession} is the app's side of one, the same
 * in both: it asks its store and never knows which it has. Internal, but in the published types
 * because `ServerSession`'s constructor names it.
 */
export interface SessionStore {
  readonly closed: boolean
  /** Sequence number of the last message sent, 0 before the first. */
  readonly sent: number
  /** Bytes sent and not yet acknowledged by the client. */
  readonly bufferedAmount: number
  /** The kind of link carrying the session now (`carrying()` in session-api.ts), if any; closed or not. @internal */
  readonly _carrier: TransportName | null
  readonly rooms: string[]
  /** What it was made with: its log. @internal */
  readonly _host: Pick<SessionHost, 'log'>
  /** Queue a message the session may keep as it is; false, and the session ended, past a bound. @internal */
  _queue(d: string | Buffer): boolean
  /** Join `room` (checked); the session is open. */
  join(room: string): void
  leave(room: string): void
  pause(): void
  resume(): void
  /** End the session with any code, Lifeline's own included; what was sent before goes first. @internal */
  _end(code: number, reason: string): void
}

/**
 * One client's session: survives its connections, numbers and keeps what it sends until the
 * client acknowledges it, and delivers what it receives exactly once and in order. The same class
 * in one process and in cluster mode: what differs is its store ({@link SessionStore}).
 *
 * `In` and `Out` type the messages received and sent, for the compiler only (nothing is checked
 * at run time), as the client's do: `ServerSession<Json<ToServer>, Json<ToClient>>`.
 *
 * @example
 * server.on('connection', (s) => s.on('message', (m) => s.send(m)))
 */
// \`on\`, \`once\` and \`off\` take only the events there are, each listener typed by its event: Node's
// own typing lets any name through (\`on('mesage')\` compiled).
export interface ServerSession<In extends string | Buffer = string | Buffer, Out extends SessionData = SessionData> {
  on<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
  once<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
  off<K extends keyof ServerSessionEvents>(event: K, listener: (...args: ServerSessionEvents<In>[K]) => void): this
}
export class ServerSession<
  In extends string | Buffer = string | Buffer,
  Out extends SessionData = SessionData,
> extends EventEmitter {
  /** What `authenticate` returned, if anything. */
  data: unknown
  /** The socket's own address (`remoteAddress` may come from `X-Forwarded-For`); '' in cluster mode. @internal */
  _peer = ''
  /** Its store: where its messages are kept, and how they reach the client. @internal */
  readonly _store: SessionStore

  constructor(
    /** Unguessable session id (128 random bits). */
    readonly id: string,
    /** Remote address of the request that created it (with `trustProxy`, from `X-Forwarded-For`). */
    readonly remoteAddress: string,
    /**
     * Headers of the request that created it, without those of the WebSocket handshake itself
     * (`connection`, `upgrade`, `sec-websocket-key`, `-version`, `-extensions`).
     */
    readonly headers: IncomingHttpHeaders,
    /** Origin the session is bound to ('' until a request shows one). */
    public origin: string,
    /** Whether the client asked for acknowledgements and resending (not fire-and-forget). */
    readonly reliable: boolean,
    /** Makes its store, which tells this session what happens (the app's events). @internal */
    store: (s: ServerSession) => SessionStore,
    /**
     * Cluster mode: this node took the session over from one that died or was cut off, after the
     * app had heard of it there (reload what the app keeps for it). Always false in one process.
     */
    readonly takenOver = false,
  ) {
    super()
    this._store = store(this as ServerSession)
  }

  /** Set once the session has ended. */
  get closed(): boolean {
    return this._store.closed
  }

  /** Bytes sent but not yet acknowledged by the client (without resume: not yet written). */
  get bufferedAmount(): number {
    return this._store.bufferedAmount
  }

  /**
   * Sequence number of the last message sent, 0 before the first: once `delivered` reaches it,
   * the client has everything sent so far.
   */
  get sent(): number {
    return this._store.sent
  }

  /**
   * Name of the transport carrying the session now, if any (in cluster mode, on any node). Polling
   * counts between two polls too (there is a link only while a poll is held), until the client has
   * been silent past its heartbeat plus `heartbeatTimeout`, as the sweep judges a connection dead.
   */
  get transport(): TransportName | null {
    return this.closed ? null : this._store._carrier
  }

  /** Rooms the session is in. */
  get rooms(): string[] {
    return this._store.rooms
  }

  /**
   * Queue a message for the client. Returns false, and closes the session with 3900, when the
   * unacknowledged bytes would pass `maxBufferedAmount` or the server's `maxTotalBuffered`, or
   * the unacknowledged messages `maxQueueLength`: a client that does not read cannot make the
   * server hold unbounded memory. Throws `LL_ERR_MESSAGE_TOO_BIG` for a message over
   * `maxMessageSize`, `LL_ERR_INVALID_STATE` on a closed session.
   */
  send(data: Out): boolean {
    if (this.closed) throw new LifelineError('LL_ERR_INVALID_STATE', 'send() on a closed session')
    return this._store._queue(payload(data))
  }

  /**
   * Join `room`: what `ll.to(room).send()` sends from now on is queued for this session too, in
   * its own sequence, so it resumes exactly once and in order like its other messages. A session
   * leaves every room when it ends. Throws `LL_ERR_INVALID_OPTION` for a room that is not a
   * non-empty string, `LL_ERR_INVALID_STATE` on a closed session.
   *
   * @example
   * ll.on('connection', (s) => s.join('room:42'))
   */
  join(room: string): void {
    if (this.closed) throw new LifelineError('LL_ERR_INVALID_STATE', 'join() on a closed session')
    this._store.join(room)
  }

  /** Leave `room` (nothing happens if it was not in it). */
  leave(room: string): void {
    this._store.leave(room)
  }

  /**
   * End the session for good; the client hears `code` and `reason` and does not come back. Codes:
   * 1000-1003, 1007-1014 and 3000-4999, except Lifeline's own 3900-3999 (throws
   * `LL_ERR_INVALID_OPTION`). 1001 and 1011-1013 make the client start a new session instead.
   */
  close(code = 1000, reason = ''): void {
    checkClose(code, reason)
    this._store._end(code, reason)
  }

  /**
   * Stop delivering messages: they are held (up to `maxBufferedAmount` bytes; in cluster mode in
   * Redis) and not acknowledged, so the client's own send queue fills and its `send()` starts
   * refusing. Use it when what consumes the messages cannot keep up (the gateway pauses while its
   * upstream is slow).
   */
  pause(): void {
    this._store.pause()
  }

  /** Deliver held messages and acknowledge them. */
  resume(): void {
    this._store.resume()
  }

  /** End the session with any code, Lifeline's own included (the gateway's upstream codes). @internal */
  _end(code: number, reason: string): void {
    this._store._end(code, reason)
  }

  /**
   * Hand the app one message from the client, its `seq`-th; `redelivered`: a node that died may
   * have handed it already (cluster mode). `onRequest` answers requests here. @internal
   */
  _emitMessage(d: string | Buffer, binary: boolean, seq: number, redelivered = false): void {
    this._emitSafely('message', d, binary, { seq, redelivered })
  }

  /** Emit to the app's listeners from inside frame handling. @internal */
  _emitSafely<K extends 'message' | 'delivered'>(type: K, ...args: ServerSessionEvents[K]): void {
    emitSafely(this, this._store._host.log, type, args)
  }
}
