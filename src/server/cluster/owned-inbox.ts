// What the owner of a session hands its app of what the client sent, in cluster mode: read from
// Redis wherever it arrived (or taken from the link on this node that just kept it), handed once
// and in order, and its receipt committed to Redis (with the next append, or on its own a little
// later), so that a node taking the session over knows what may have been handed already.
import type { Refusal, StoredMessage } from './records'
import type { OwnerHost } from './owned'

/** What the inbox needs of the session it belongs to (owned.ts). @internal */
export interface InboxHost {
  readonly id: string
  /** Its fencing token: every owner read and write carries it. */
  readonly _fence: number
  readonly closed: boolean
  readonly _host: Pick<OwnerHost, 'o' | 'store' | 'held' | 'stats' | 'log'>
  /** When this node last heard of the client. */
  _heardAt: number
  /** The client has spoken: the app hears of the session. */
  _confirm(): void
  /** Deliver one message to the app. */
  _emitMessage(d: string | Buffer, binary: boolean, seq: number): void
  /** Redis says the session is not this node's, or not there, any more. */
  _refused(r: Refusal): void
  /** One store write after the session's others. */
  _write(op: () => Promise<unknown>): Promise<unknown>
}

/** How long handed messages may go uncommitted when nothing is sent to carry the commit, ms. */
const COMMIT_DELAY = 100

/** @internal */
export class OwnedInbox {
  /** Client messages handed to the app, and the part of them committed in Redis. */
  private _handed: number
  private _committed: number
  private _pulling = false
  private _pullAgain = false
  private _paused = false
  private _commitT?: unknown
  /** A read of the inbox failed (Redis away): the node's upkeep reads it again on its next pass. */
  _unread = false

  constructor(
    private readonly _s: InboxHost,
    delivered: number,
    /** Messages up to this one may have been handed to the app by the node that died. */
    readonly _redeliverUpTo: number,
  ) {
    this._handed = this._committed = delivered
  }

  /** Stop handing messages to the app (they wait in Redis, unacknowledged past the bounds). */
  _pause(): void {
    this._paused = true
  }

  _resume(): void {
    this._paused = false
    void this._pull()
  }

  /** Whether Redis keeps client messages up to `received` beyond what was handed to the app. */
  _behind(received: number): boolean {
    return received > this._handed
  }

  /** Hand the app what the client sent that it has not had, from Redis, in order. */
  async _pull(): Promise<void> {
    const s = this._s
    if (this._pulling) return void (this._pullAgain = true)
    this._pulling = true
    try {
      do {
        this._pullAgain = false
        if (s.closed || this._paused) return
        const r = await s._host.store.readIncoming(s.id, s._fence, this._handed + 1)
        this._unread = false
        if (r.status != 'ok') return s._refused(r)
        if (r.messages.length) s._confirm()
        this._hand(r.first, r.messages)
        if (r.messages.length && r.first + r.messages.length <= r.received) this._pullAgain = true
      } while (this._pullAgain)
    } catch (e) {
      // Redis away: the node's upkeep reads the inbox again.
      this._unread = true
      s._host.log('warn', 'cluster: reading the inbox failed:', e)
    } finally {
      this._pulling = false
      this._commitLater()
    }
  }

  /**
   * Client messages from seq `first` that a link on this node has just kept in Redis: handed at
   * once when they are the next ones (no read back), otherwise read from the inbox.
   */
  _arrived(first: number, messages: StoredMessage[]): void {
    const s = this._s
    if (this._pulling || this._paused || s.closed || first > this._handed + 1) return void this._pull()
    s._confirm()
    this._hand(first, messages)
    this._commitLater()
  }

  private _hand(first: number, messages: StoredMessage[]): void {
    const s = this._s
    // A node that ran again after a freeze past its lease hands nothing: another may own it now.
    if (!s._host.held()) return
    for (let i = 0; i < messages.length && !s.closed && !this._paused; i++) {
      const seq = first + i
      if (seq <= this._handed) continue
      this._handed = seq
      s._heardAt = s._host.o.clock.now()
      const m = messages[i]
      s._host.stats.in(m.length)
      s._emitMessage(m, typeof m != 'string', seq)
    }
  }

  /** The receipt to ride with an append of the app's replies (kept, or lost, together): undefined when none is due. */
  _receipt(): number | undefined {
    return this._handed > this._committed ? this._handed : undefined
  }

  /** Redis has the receipt up to `n`. */
  _committedTo(n: number): void {
    this._committed = Math.max(this._committed, n)
  }

  private _commitLater(): void {
    const s = this._s
    if (this._commitT || this._handed <= this._committed || s.closed) return
    this._commitT = s._host.o.clock.setTimeout(() => {
      this._commitT = undefined
      const n = this._handed
      if (n <= this._committed || s.closed) return
      void s._write(async () => {
        const r = await s._host.store.deliveredIncoming(s.id, s._fence, n)
        if (r.status != 'ok') return s._refused(r)
        this._committedTo(n)
      })
    }, COMMIT_DELAY)
  }

  /** The session is over here: no commit is made any more. */
  _stop(): void {
    this._s._host.o.clock.clearTimeout(this._commitT)
  }
}
