// What one node holds of a session in cluster mode (docs/cluster-design.md §6): its links here
// (WebSocket, stream, the poll waiting), fed from the session's outgoing log in Redis. The client
// frames arriving on them are served-inbound.ts's, its room runs (from each room's log)
// served-rooms.ts's.
import { Code, FrameType, closeFrame, messageFrames, type Frame } from '../../protocol/frames'
import type { Link, LinkOwner } from '../link'
import { ServerLiveness } from '../liveness'
import type { NodeParts } from './owned'
import type { StoredMessage } from './records'
import type { RoomFeeds } from './feeds'
import { ServedInbound } from './served-inbound'
import { ServedRooms } from './served-rooms'

/** What a served session needs from its node. @internal */
export interface ServedHost extends NodeParts {
  /** Client messages from `first` (or only its first frame) are in Redis now: the owner, if here, hands them over. */
  received(sid: string, first: number, messages: StoredMessage[]): void
  /** No link of the session is left here. */
  idle(s: Served): void
  /** The session's active link is of `kind` now (undefined: the one here went away). */
  active(sid: string, kind: Link['name'] | undefined): void
  /** The rooms this node follows. */
  feeds: RoomFeeds
  /**
   * When the session is owned here: its owner's writes queued so far, what it sent in this tick
   * with them. A link waits for them before it reads the log, and a POST before it is answered,
   * so that each carries what the app sent before it, as in one process.
   */
  queued(sid: string): Promise<unknown> | undefined
  /** Account bytes this node holds (POST bodies being read or waiting); false past `maxTotalBuffered`. */
  reserve(n: number): boolean
}

/** Messages read from the log per round trip. */
const READ_MAX = 1000

/** @internal */
export class Served implements LinkOwner {
  closed = false
  /** Links here by kind, and which of them carries the session (Redis decides, `activate`). */
  _links: Partial<Record<Link['name'], Link>> = {}
  _active?: Link['name']
  /** Next seq to write on the active link. */
  private _next = 0
  /** The highest seq any link here has written (the `w` frame, `_lastWritten`). */
  private _highest = 0
  private _pumping = false
  private _pumpAgain = false
  /** A read of the log failed (Redis away): the node's upkeep reads it again on its next pass. */
  _unread = false
  /** When something was last written to the client here, and when it last spoke here (`o.clock`). */
  _lastOut: number
  _lastIn: number
  /** Whether the client acknowledges and resumes (its requests say `r=0` when not). */
  _reliable = true
  /** When to ping a client that is silent (its `quiet` rule, shared with one process's sessions). */
  readonly _liveness = new ServerLiveness()
  /** The active link the request found on a node that is gone (replaceable), for the next attach. */
  _deadActive = ''
  /** The client closed the session here: its links end without a close frame. */
  _byClient = false
  /** Settles once the last attached link is active or standby, and has written what there was. */
  _settled: Promise<void> = Promise.resolve()
  /** Room runs on the active link here, for a client that holds its room positions (PROTOCOL.md §6.5). */
  readonly _rooms = new ServedRooms(this)
  /** The client frames arriving here, kept in Redis before they are acknowledged. */
  readonly _inbound = new ServedInbound(this)

  constructor(
    readonly id: string,
    /** Protocol version the client speaks (for close codes). */
    public _version: number,
    /** Heartbeat interval the client asked for, ms. */
    public _hb: number,
    readonly _host: ServedHost,
  ) {
    this._lastOut = this._lastIn = _host.o.clock.now()
  }

  /** A link arrived; the client has everything up to `cursor`. Redis decides whether it carries the session. */
  _attach(l: Link, cursor: number, got?: ReadonlyMap<string, number>): void {
    const old = this._links[l.name]
    this._links[l.name] = l
    this._rooms._arrived(l.name, got)
    if (old && old != l) old.end()
    const queued = this._host.queued(this.id)
    this._settled = this._activate(l, cursor, 0, this._deadActive, queued).catch((e) => this._oops(e))
    this._deadActive = ''
  }

  /**
   * Make link `l` active if Redis says so (`deadActive`: an active link on a dead node,
   * replaceable); it reads the log once `queued` (the owner's appends from before it came) are in.
   */
  async _activate(l: Link, cursor: number, use: number, deadActive: string, queued?: Promise<unknown>): Promise<void> {
    const r = await this._host.store.activate(this.id, l.name, use, deadActive)
    // A poll is answered with what it finds: 300 of 1,000 messages sent before it came, the rest
    // still on their way to Redis, and the client polled again for them (issue 26).
    await queued
    if (this._links[l.name] != l) return
    if (r.status == 'active') {
      this._active = l.name
      this._host.active(this.id, l.name)
      this._next = cursor + 1
      await this._carry(l)
    } else if (r.status == 'gone' || r.status == 'ended') await this.pump()
  }

  /**
   * Link `l` carries the session here now: the session's backlog from the log, then each room's. A
   * poll answers with both, as in one process (the rooms' waited for the next poll).
   */
  private async _carry(l: Link): Promise<void> {
    if (l.hold) l.hold()
    try {
      await this._rooms._carried(l.name)
      await this.pump()
      await this._rooms._pump()
    } finally {
      if (l.release) l.release()
    }
  }

  _detach(l: Link): void {
    if (this._links[l.name] != l) return
    delete this._links[l.name]
    if (this._active == l.name) {
      this._active = undefined
      this._host.active(this.id, undefined)
    }
    this._host.store.detach(this.id, l.name).catch(() => {})
    if (!Object.keys(this._links).length) {
      this._rooms._unfollow()
      this._host.idle(this)
    }
  }

  /** The active link changed (an `a` hint, or `u<k>` here): "kind node". */
  _switched(active: string, node: string): void {
    const [kind, holder] = active.split(' ')
    if (holder == node && this._links[kind as Link['name']]) {
      if (this._active == kind) return
      this._active = kind as Link['name']
      this._host.active(this.id, this._active)
      // Resend from the client's cursor: Redis reads from `ack + 1` when asked from 0.
      this._next = 0
      this._rooms._own()
      this._carry(this._links[this._active]!).catch((e) => this._oops(e))
    } else if (this._active) this._active = undefined
  }

  /**
   * The owner, on this node, appended messages `first`..: written at once when they are the next
   * for the active link (no read back); otherwise the log is read.
   */
  _appended(first: number, messages: StoredMessage[]): void {
    const l = this._active && this._links[this._active]
    if (this._pumping || !l || !l.ready() || first != this._next) return void this.pump()
    this._written(l, first, messages)
    this._lastOut = this._host.o.clock.now()
  }

  /**
   * Write messages `first`.. on link `l`. Without resume (fire-and-forget) what is written is
   * forgotten, as in one process: the client never acknowledges, and the log would keep it all.
   */
  private _written(l: Link, first: number, messages: StoredMessage[]): void {
    l.write(withSeq(first, messages))
    this._rooms._own()
    this._next = first + messages.length
    this._highest = Math.max(this._highest, this._next - 1)
    if (!this._reliable) this._host.store.ackOutgoing(this.id, this._next - 1).catch(() => {})
  }

  /**
   * What the client is owed (`PostTarget._owed`), as far as this node knows: the highest message a
   * link here has written. Less than the session's log holds (what the owner appended and no link
   * here wrote, a download on another node, a link gone between polls): the client then waits for
   * the heartbeat rule to notice a download that stalled.
   */
  _owed(): number {
    return this._highest
  }

  /** Whether the active link here has written up to `seq` already (a hint for it is old news). */
  _has(seq: number): boolean {
    return !!this._active && this._next > seq
  }

  /** Write what the log has beyond what this link has written; last words and the close when it ended. */
  async pump(): Promise<void> {
    if (this._pumping) return void (this._pumpAgain = true)
    this._pumping = true
    try {
      do {
        this._pumpAgain = false
        const l = this._active && this._links[this._active]
        const ending = !l
        if (ending && !Object.keys(this._links).length) return
        const r = await this._host.store.readOutgoing(this.id, l ? this._next : Number.MAX_SAFE_INTEGER, READ_MAX)
        this._unread = false
        if (r.status == 'gone') return this._bye(Code.SESSION_EXPIRED, 'session unknown or expired')
        if (r.status != 'ok') return
        const now = this._active && this._links[this._active]
        if (now && now.ready() && r.messages.length && (l ? this._next : 0) <= r.first + r.messages.length) {
          this._written(now, r.first, r.messages)
          this._lastOut = this._host.o.clock.now()
          if (r.messages.length == READ_MAX) this._pumpAgain = true
        }
        // With no active link here, the links here hear the close at once: with `_next`
        // compared instead, one attached as the session ended waited for good (issue 26).
        if (r.end && (ending || this._next > r.last)) {
          const [code, ...why] = r.end.split(' ')
          return this._bye(+code, why.join(' '))
        }
      } while (this._pumpAgain)
    } catch (e) {
      // Redis away: the link waits; the node's upkeep reads the log again.
      this._unread = true
      this._host.log('warn', 'cluster: reading the log failed:', e)
    } finally {
      this._pumping = false
    }
  }

  /** The active link here, if it can take frames now. */
  _ready(): Link | undefined {
    const l = this._active && this._links[this._active]
    return l && l.ready() ? l : undefined
  }

  /** The session ended: tell every link here (not when its client closed it) and let them go. */
  _bye(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    const bye = closeFrame(code, reason, this._version)
    for (const l of Object.values(this._links)) {
      if (!this._byClient && l!.ready()) l!.write([bye])
      l!.end()
    }
    this._links = {}
    this._rooms._unfollow()
    this._host.idle(this)
  }

  /** Drop every link without a word: the client resumes on another node. */
  _drop(): void {
    this.closed = true
    for (const l of Object.values(this._links)) l!.end(true)
    this._links = {}
    this._rooms._unfollow()
    this._inbound._stop()
  }

  /** Frames on a link here (`ServedInbound._receive`). */
  _receive(frames: Frame[], via: Link): void {
    this._inbound._receive(frames, via)
  }

  /** A POST body here (its `ack` first); resolves to the response's frames (`ServedInbound._post`). */
  _post(frames: Frame[], ask: { ack: number; t: string }): Promise<Frame[] | null> {
    return this._inbound._post(frames, ask)
  }

  _end(code: number, reason: string): void {
    this._host.store
      .close(this.id, null, code, reason, false)
      .then(() => this._bye(code, reason))
      .catch((e) => this._oops(e))
  }

  /**
   * A store write failed (Redis away): whether it was kept is unknown, so every link here ends and
   * is let go at once, not when its socket closes, so that nothing queued behind it is taken.
   */
  _oops(e: unknown): void {
    this._host.log('warn', 'cluster: frames not handled:', e)
    for (const l of Object.values(this._links)) {
      l!.end(true)
      this._detach(l!)
    }
  }
}

/** `s<first>` and the messages (text batched into `M` frames). */
function withSeq(first: number, messages: StoredMessage[]): Frame[] {
  return messageFrames(messages, 0, messages.length, [FrameType.Seq + first])
}
