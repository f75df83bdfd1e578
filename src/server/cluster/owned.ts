// A session's store as its owner node runs it in cluster mode (docs/cluster-design.md §5-§7): the
// app's handlers run here, on its ServerSession; what it sends is numbered by Redis
// (appendOutgoing); what the client sent is read from Redis, wherever it arrived, and handed to the
// app once, in order (owned-inbox.ts).
import { randomBytes } from 'node:crypto'
import { Code } from '../../protocol/frames'
import { Backlog } from '../backlog'
import { checkRoom } from '../rooms'
import type { ServerResolved, TransportName } from '../options'
import type { ServerSession, SessionStore } from '../session'
import { carrying } from '../session-api'
import type { Counters } from '../stats'
import { OwnedInbox } from './owned-inbox'
import type { Refusal, StoredMessage } from './records'
import type { ClusterStore } from './store'

/** What every part of a node shares: the store, the server's options, its log. @internal */
export interface NodeParts {
  store: ClusterStore
  o: ServerResolved
  log(level: 'debug' | 'info' | 'warn', ...args: unknown[]): void
  /** The server's counters (`stats()`). */
  stats: Counters
}

/** What an owned session needs from its node. @internal */
export interface OwnerHost extends NodeParts {
  /** The client has spoken: emit `connection`. */
  confirm(s: OwnedSession): void
  /** The session ended (`ended`), or is no longer this node's: forget it. */
  gone(s: OwnedSession, ended: boolean): void
  /**
   * Whether this node still holds its lease by its own clock. False once it lapsed (the node was
   * frozen or cut off): the node is fenced then, and the caller hands and writes nothing.
   */
  held(): boolean
  /** A room change the next room message from this node must wait for. */
  track(p: Promise<unknown>): void
  /**
   * A close of session `sid` in Redis that a new session made on this node must wait for (it frees
   * a place in the census), and a request for `sid` here (the app closed it: it is over).
   */
  ending(p: Promise<unknown>, sid: string): void
  /**
   * A write of `s` to its log or its rooms (and `room`) is made now: what it must follow, the room
   * messages this node sent before to any of them (undefined: none is on its way to Redis).
   */
  follow(s: OwnedSession, room?: string): Promise<unknown> | undefined
  /** Messages `first`.. were appended: a link of the session here writes them without reading them back. */
  appended(sid: string, first: number, messages: StoredMessage[]): void
}

/** How long a store write waits before it is tried again while Redis is away, ms. */
const RETRY_MS = 200
/** How long after its keys' expiry the upkeep looks at a session, ms: Redis has expired them by then. */
const LOOK_LATE = 50
/** The local close code of a session another node took over (never sent to the client). */
const TAKEN_OVER = 1012

/** Where the client stands in what the owner sent, as Redis last said (`d` hints, append answers). */
interface Sending {
  /** Last seq sent (queued here, or numbered in Redis). */
  sent: number
  /** The client's cursor. */
  acked: number
  /** Bytes the client has not acknowledged, in Redis. */
  bytes: number
}

/**
 * A session's store in cluster mode ({@link SessionStore}), as its owner node runs it: the app's
 * `ServerSession` is on this node. `bufferedAmount`, `sent`, `delivered` and `drain` follow what
 * Redis says of the client's cursor (it tells this node with a hint when any node moves it); its
 * carrier is the kind of the link last made active, wherever it is (polling counts between polls).
 * @internal
 */
export class OwnedSession implements SessionStore {
  closed = false
  /** The kind of the link last made active, on any node; undefined when none is. */
  _kind?: TransportName
  /** When this node last heard of the client (a request here, a hint, a message): polling counts till its silence. */
  _heardAt: number
  /**
   * When the upkeep looks at it in Redis next (did it expire?): once it may have, as its keys said
   * or an `x` hint (no node holds a link of it), and every holdTtl / 3 besides (a hint lost).
   */
  _lookAt: number
  /** Heartbeat interval the client asked for, ms (the server's own after a takeover). */
  _hb: number
  private _out: Sending
  /** Bytes queued here and not yet appended (counted until Redis has them). */
  private _batchBytes = 0
  /** Its bounds and when the app hears `drain`, as in one process. */
  private readonly _backlog: Backlog
  /** The client has spoken (confirmed): the app has heard of it. */
  _heard = false
  _rooms = new Set<string>()
  /** Its client holds its room positions (PROTOCOL.md §6.5): its rooms reach it from their logs. */
  _logged = false
  private _batch: StoredMessage[] = []
  private _flushing = false
  /** Store writes in order: appends, room changes, the close. */
  private _chain: Promise<unknown> = Promise.resolve()
  /** How many of them are not done. */
  private _pendingWrites = 0
  /** Appends made by this owner (with its fencing token, each one's id). */
  private _appends = 0
  /**
   * In every append id of this owner, with its fencing token: no append of another owner is taken
   * for a retry of one of its own and not made (issue 26).
   */
  private readonly _nonce = randomBytes(6).toString('base64url')
  /** What the client sent, handed to the app once and in order, and its receipt in Redis. */
  private readonly _inbox: OwnedInbox

  constructor(
    /** The app's side of it. */
    readonly _session: ServerSession,
    /** Its fencing token: every owner write carries it. */
    readonly _fence: number,
    delivered: number,
    /** Messages up to this one may have been handed to the app by the node that died. */
    redeliverUpTo: number,
    readonly _host: OwnerHost,
    sending: Sending = { sent: 0, acked: 0, bytes: 0 },
  ) {
    const now = _host.o.clock.now()
    this._heardAt = now
    this._inbox = new OwnedInbox(this, delivered, redeliverUpTo)
    this._out = sending
    this._hb = _host.o.heartbeatInterval
    this._backlog = new Backlog(_host.o)
    // Made with sessionTtl to live: a link holds it before then, or it expires.
    this._lookAt = now + _host.o.sessionTtl + LOOK_LATE
  }

  get id(): string {
    return this._session.id
  }

  get reliable(): boolean {
    return this._session.reliable
  }

  /** Its keys expire in `ms` if no link holds it meanwhile (an `x` hint, a look): it is looked at then. */
  _expires(ms: number, now = this._host.o.clock.now()): void {
    this._lookAt = Math.min(this._lookAt, now + ms + LOOK_LATE)
  }

  /** Bytes sent and not yet acknowledged by the client (queued here, or kept in Redis). */
  get bufferedAmount(): number {
    return this._out.bytes + this._batchBytes
  }

  /** Sequence number of the last message sent, 0 before the first. */
  get sent(): number {
    return this._out.sent
  }

  /** The kind of the link carrying the session, on any node, or null. */
  get _carrier(): TransportName | null {
    // A link of another kind is there while it is the kind last made active (polling only during a poll).
    const k = this._kind
    return carrying(k, !!k && k != 'polling', this._heardAt, this._hb, this._host.o)
  }

  get rooms(): string[] {
    return [...this._rooms]
  }

  /**
   * Queue a message; numbered and bounded in Redis. False, and the session ended with 3900, past
   * `maxBufferedAmount` or `maxQueueLength` as this node counts them (as in one process).
   */
  _queue(d: string | Buffer): boolean {
    if (this.closed) return false
    const n = this._backlog.size(d)
    // Bounded here too, as in one process, by what this node knows of the client's cursor (the
    // last append's answer, the `d` hints): a sender that never looks at the answer stops at the
    // bound, not later when Redis refuses an append (nor never, in an unbounded loop).
    if (!this._backlog.fits(this.bufferedAmount, this._out.sent - this._out.acked, n)) {
      this._end(Code.BUFFER_OVERFLOW, 'buffer overflow: client is not reading')
      return false
    }
    this._batch.push(d)
    this._batchBytes += n
    this._out.sent++
    this._host.stats.out(n)
    this._backlog.grew(this.bufferedAmount)
    if (!this._flushing) {
      this._flushing = true
      // Everything sent in one tick goes in one script.
      Promise.resolve().then(() => this._flush())
    }
    return true
  }

  join(room: string): void {
    checkRoom(room)
    this._rooms.add(room)
    const join = () => this._host.store.rooms.join(this.id, this._fence, room, this._logged)
    this._host.track(this._write(join, this._host.follow(this, room)))
  }

  leave(room: string): void {
    checkRoom(room)
    if (this.closed || !this._rooms.delete(room)) return
    const leave = () => this._host.store.rooms.leave(this.id, this._fence, room, this._logged)
    this._host.track(this._write(leave, this._host.follow(this, room)))
  }

  pause(): void {
    this._inbox._pause()
  }

  resume(): void {
    this._inbox._resume()
  }

  /** End it in Redis: what was sent first stays readable as last words (not after an overflow). */
  _end(code: number, reason: string): void {
    if (this.closed) return
    this._flush()
    const keep = this.reliable && code != Code.BUFFER_OVERFLOW
    const close = () => this._host.store.close(this.id, this._fence, code, reason, keep)
    this._host.ending(this._write(close, this._host.follow(this)), this.id)
    this._over(code, reason)
  }

  /** The session is over here: the app's `close`, and the node forgets it. */
  _over(code: number, reason: string, ended = true): void {
    if (this.closed) return
    this.closed = true
    this._inbox._stop()
    this._host.gone(this, ended)
    this._session.emit('close', code, reason)
  }

  /** Another node took it over (this one was frozen or cut off): nothing more is written from here. */
  _fenced(): void {
    this._host.log('info', 'a session was taken over by another node')
    this._over(TAKEN_OVER, 'taken over', false)
  }

  /**
   * This node stops (drain): what was sent is written, the session let go so that the next
   * request for it, on any node, takes it over at once; the app here hears `close` (1001, never
   * sent to the client, whose session goes on).
   */
  async _release(): Promise<void> {
    this._flush()
    await this._write(() => this._host.store.release(this.id, this._fence))
    this._over(1001, 'node shutting down', false)
  }

  /** The client has spoken: the app hears of the session now. */
  _confirm(): void {
    if (this._heard || this.closed) return
    this._heard = true
    this._host.confirm(this)
  }

  /** Hand the app what the client sent that it has not had, from Redis, in order. */
  _pull(): Promise<void> {
    return this._inbox._pull()
  }

  /** Whether the last read of the inbox failed (Redis away): the upkeep reads it again. */
  get _unread(): boolean {
    return this._inbox._unread
  }

  /** Whether the client sent more than this node handed the app, Redis having kept up to `received`. */
  _behind(received: number): boolean {
    return this._inbox._behind(received)
  }

  /** Client messages from seq `first` that a link on this node has just kept in Redis. */
  _arrived(first: number, messages: StoredMessage[]): void {
    this._inbox._arrived(first, messages)
  }

  /** Deliver one message to the app: again (`redelivered`) if the node that died may have handed it. */
  _emitMessage(d: string | Buffer, binary: boolean, seq: number): void {
    this._session._emitMessage(d, binary, seq, seq <= this._inbox._redeliverUpTo)
  }

  /** The client acknowledged up to `n` (a `d` hint from whichever node it told); `bytes` are left in Redis. */
  _acked(n: number, bytes: number): void {
    const out = this._out
    if (n <= out.acked || this.closed) return
    out.acked = n
    out.bytes = bytes
    if (this._backlog.shrank(this.bufferedAmount)) this._session.emit('drain')
    if (this.reliable) this._session._emitSafely('delivered', n)
  }

  /** Redis says the session is not ours, or not there, any more. */
  _refused(r: Refusal | { status: 'overflow' }): void {
    if (r.status == 'fenced') this._fenced()
    else if (r.status == 'overflow') this._end(Code.BUFFER_OVERFLOW, 'buffer overflow: client is not reading')
    else if (r.status == 'ended') {
      const [code, ...why] = r.end.split(' ')
      this._over(+code, why.join(' '))
    } else this._over(Code.SESSION_EXPIRED, 'session expired')
  }

  _flush(): void {
    this._flushing = false
    const batch = this._batch
    if (!batch.length || this.closed) return
    this._batch = []
    const bytes = batch.reduce((n, m) => n + (typeof m == 'string' ? Buffer.byteLength(m) : m.length), 0)
    // The receipt of what the app was handed rides with its replies: kept, or lost, together.
    const delivered = this._inbox._receipt()
    // One id for every try of this write: one whose answer was lost is not made twice.
    const op = this._fence + ':' + this._nonce + ':' + ++this._appends
    this._write(async () => {
      const r = await this._host.store.appendOutgoing(this.id, this._fence, batch, delivered, op)
      this._batchBytes -= bytes
      if (r.status != 'ok') return this._refused(r)
      if (delivered) this._inbox._committedTo(delivered)
      const out = this._out
      // Room messages may have been numbered in between: Redis's numbers win.
      out.sent = Math.max(out.sent, r.last + this._batch.length)
      out.bytes = r.bufferedAmount < 0 ? out.bytes + bytes : r.bufferedAmount
      this._host.appended(this.id, r.first, batch)
    }, this._host.follow(this))
  }

  /**
   * One store write after the ones before it. While Redis is away it is tried again, for up to
   * `sessionTtl` (the session would have expired by then): what the app sent is not dropped. A
   * write whose answer was lost as Redis went down is so tried again: each is idempotent (an append
   * carries its id, the rest are cursors and sets); its fencing token keeps a write of a session
   * taken over meanwhile out. It waits for `after` first (room messages it must follow).
   */
  _write(op: () => Promise<unknown>, after?: Promise<unknown>): Promise<unknown> {
    const { sessionTtl: ttl, clock } = this._host.o
    const attempt = async () => {
      if (after) await after
      const end = clock.now() + ttl
      for (;;) {
        // Nor does it write anything (its fencing token would be refused, if another took over yet).
        if (!this._host.held()) return
        try {
          return await op()
        } catch (e) {
          if (clock.now() > end) return this._host.log('warn', 'cluster store write failed:', e)
          await new Promise<void>((wake) => clock.setTimeout(wake, RETRY_MS))
        }
      }
    }
    this._pendingWrites++
    const next = this._chain.then(attempt).finally(() => this._pendingWrites--)
    this._chain = next
    return next
  }

  /** The last store write while any is not done: what a room message sent now must follow. */
  _writing(): Promise<unknown> | undefined {
    return this._pendingWrites ? this._chain : undefined
  }
}
