// What one node holds of a session in cluster mode (docs/cluster-design.md §6): its links here
// (WebSocket, stream, the poll waiting), fed from the session's outgoing log in Redis, and the
// client frames arriving on them, kept in Redis before they are acknowledged.
import { Code, FrameType, closeFrame, messageFrames, num, parseBatch, type Frame } from '../../protocol/frames'
import { ACK_DELAY, ACK_MESSAGES } from '../../protocol/limits'
import { clientClose } from '../inbound'
import type { Link, LinkOwner } from '../link'
import { ServerLiveness } from '../liveness'
import type { NodeParts } from './owned'
import type { StoredMessage } from './records'
import type { RoomFeeds, RoomReader } from './feeds'

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
}

/** A POST whose first message is beyond what Redis has: tried again this often, this long apart (ms). */
const GAP_TRIES = 25
const GAP_WAIT = 20
/** Messages read from the log per round trip. */
const READ_MAX = 1000

/** @internal */
export class Served implements LinkOwner, RoomReader {
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
  /** Client frames are handled one batch after another, in order. */
  private _chain: Promise<unknown> = Promise.resolve()
  /** Client messages kept in Redis, as far as this node knows: never more than the client sent. */
  private _received = 0
  /** Whether this node has recorded the session's first frame (it confirms the session). */
  private _confirmed = false
  private _acked = 0
  private _ackT?: NodeJS.Timeout
  _lastOut = Date.now()
  _lastIn = Date.now()
  /** When this node last renewed the session's keys (0: not yet; the next upkeep tick does). */
  _touchedAt = 0
  /** Whether the client acknowledges and resumes (its requests say `r=0` when not). */
  _reliable = true
  /** When to ping a client that is silent (its `quiet` rule, shared with one process's sessions). */
  readonly _liveness = new ServerLiveness()
  /** The active link the request found on a node that is gone (replaceable), for the next attach. */
  _deadActive = ''
  /** The client closed the session here: its links end without a close frame. */
  private _byClient = false
  /** Settles once the last attached link is active or standby, and has written what there was. */
  _settled: Promise<void> = Promise.resolve()
  /**
   * For a client that holds its room positions (PROTOCOL.md §6.5): per room, the next offset to
   * write on the active link here. Undefined until such a link is active here.
   */
  private _roomNext?: Map<string, number>
  /** The room positions each kind of link's request carried, until used. */
  private _got: Partial<Record<Link['name'], ReadonlyMap<string, number>>> = {}
  /** The room whose run the active link is in (`r` frame), and the offset its next message would take. */
  private _run = ''
  private _runNext = 0
  private _roomsPumping = false
  private _roomsAgain = false

  constructor(
    readonly id: string,
    /** Protocol version the client speaks (for close codes). */
    public _version: number,
    /** Heartbeat interval the client asked for, ms. */
    public _hb: number,
    readonly _host: ServedHost,
  ) {}

  /** A link arrived; the client has everything up to `cursor`. Redis decides whether it carries the session. */
  _attach(l: Link, cursor: number, got?: ReadonlyMap<string, number>): void {
    const old = this._links[l.name]
    this._links[l.name] = l
    this._got[l.name] = got
    if (old && old != l) old.end()
    this._settled = this._activate(l, cursor, 0, this._deadActive).catch((e) => this._oops(e))
    this._deadActive = ''
  }

  /** Make link `l` active if Redis says so (`deadActive`: an active link on a dead node, replaceable). */
  async _activate(l: Link, cursor: number, use: number, deadActive: string): Promise<void> {
    const r = await this._host.store.activate(this.id, l.name, use, deadActive)
    if (this._links[l.name] != l) return
    if (r.status == 'active') {
      this._active = l.name
      this._host.active(this.id, l.name)
      this._next = cursor + 1
      // A link's room positions are used once (a `u` on it later goes on from what was written).
      const got = this._got[l.name]
      delete this._got[l.name]
      if (got) await this._roomsFrom(got)
      await this.pump()
      await this.pumpRooms()
    } else if (r.status == 'gone' || r.status == 'ended') await this.pump()
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
      this._unfollow()
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
      this._run = ''
      const got = this._got[kind as Link['name']]
      delete this._got[kind as Link['name']]
      void (got ? this._roomsFrom(got) : Promise.resolve()).then(() => this.pump()).then(() => this.pumpRooms())
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
    this._lastOut = Date.now()
  }

  /**
   * Write messages `first`.. on link `l`. Without resume (fire-and-forget) what is written is
   * forgotten, as in one process: the client never acknowledges, and the log would keep it all.
   */
  private _written(l: Link, first: number, messages: StoredMessage[]): void {
    l.write(withSeq(first, messages))
    this._run = ''
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
        if (r.status == 'gone') return this._bye(Code.SESSION_EXPIRED, 'session unknown or expired')
        if (r.status != 'ok') return
        const now = this._active && this._links[this._active]
        if (now && now.ready() && r.messages.length && (l ? this._next : 0) <= r.first + r.messages.length) {
          this._written(now, r.first, r.messages)
          this._lastOut = Date.now()
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
      // Redis away: the link waits; the node's reconcile pass reads the log again.
      this._host.log('warn', 'cluster: reading the log failed:', e)
    } finally {
      this._pumping = false
    }
  }

  /**
   * A link carrying the session starts here: each of its rooms goes on after the client's position
   * (`got`), or from where the session joined if that is later or the client has none.
   */
  private async _roomsFrom(got: ReadonlyMap<string, number>): Promise<void> {
    const joined = await this._host.store.rooms.joined(this.id)
    const next = new Map<string, number>()
    for (const [room, from] of joined) {
      const p = got.get(room)
      next.set(room, Math.max(from, p === undefined ? 0 : p + 1))
    }
    this._follow(next)
    this._run = ''
  }

  /** The session joined or left a room (an `r` hint): new rooms start where it joined. */
  async _roomsChanged(): Promise<void> {
    if (!this._roomNext) return
    const joined = await this._host.store.rooms.joined(this.id)
    const next = new Map<string, number>()
    for (const [room, from] of joined) next.set(room, this._roomNext.get(room) ?? from)
    this._follow(next)
    await this.pumpRooms()
  }

  /** Follow exactly the rooms of `next` from now on. */
  private _follow(next: Map<string, number>): void {
    const feeds = this._host.feeds
    for (const room of this._roomNext ? this._roomNext.keys() : []) if (!next.has(room)) feeds.remove(room, this)
    for (const room of next.keys()) feeds.add(room, this)
    this._roomNext = next
  }

  /** Message `offset` of `room` was published: written at once when it is the next; a gap is read from the log. */
  _roomMessage(room: string, offset: number, m: StoredMessage): void {
    const next = this._roomNext && this._roomNext.get(room)
    if (next === undefined || offset < next) return
    const l = this._active && this._links[this._active]
    if (offset > next || this._roomsPumping || !l || !l.ready()) return void this.pumpRooms()
    this._writeRoom(l, room, offset, [m])
  }

  /** Write each room's messages past what the active link here has, from the room's log. */
  async pumpRooms(): Promise<void> {
    if (!this._roomNext || this.closed) return
    if (this._roomsPumping) return void (this._roomsAgain = true)
    this._roomsPumping = true
    try {
      do {
        this._roomsAgain = false
        for (const [room, next] of [...this._roomNext]) {
          if (!this._ready()) return
          const r = await this._host.store.rooms.logs.read(room, next, READ_MAX)
          const l = this._ready()
          if (!l) return
          if (this._roomNext.get(room) !== next) {
            this._roomsAgain = true
            continue
          }
          if (r.status == 'reset') {
            l.write([FrameType.RoomReset + r.next + ' ' + room])
            this._roomNext.set(room, r.next)
            this._run = ''
          } else if (r.upto >= next) {
            // Runs of consecutive offsets: latest values a newer one of their key replaced are left out.
            for (const run of r.runs) this._writeRoom(l, room, run.first, run.messages)
            this._roomNext.set(room, r.upto + 1)
            if (r.upto - next + 1 >= READ_MAX) this._roomsAgain = true
          }
        }
      } while (this._roomsAgain)
    } catch (e) {
      this._host.log('warn', 'cluster: reading a room failed:', e)
    } finally {
      this._roomsPumping = false
    }
  }

  /** The active link here, if it can take frames now. */
  private _ready(): Link | undefined {
    const l = this._active && this._links[this._active]
    return l && l.ready() ? l : undefined
  }

  /** Write `room`'s messages from offset `first` on `l`, with an `r` frame unless its run goes on. */
  private _writeRoom(l: Link, room: string, first: number, messages: StoredMessage[]): void {
    const frames: Frame[] = this._run == room && this._runNext == first ? [] : [FrameType.Room + first + ' ' + room]
    l.write(messageFrames(messages, 0, messages.length, frames))
    this._run = room
    this._runNext = first + messages.length
    this._roomNext!.set(room, this._runNext)
    this._lastOut = Date.now()
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
    this._unfollow()
    this._host.idle(this)
  }

  /** Stop taking room messages here. */
  private _unfollow(): void {
    for (const room of this._roomNext ? this._roomNext.keys() : []) this._host.feeds.remove(room, this)
    this._roomNext = undefined
  }

  /** Drop every link without a word: the client resumes on another node. */
  _drop(): void {
    this.closed = true
    for (const l of Object.values(this._links)) l!.end(true)
    this._links = {}
    this._unfollow()
    clearTimeout(this._ackT)
  }

  /**
   * Frames on a WebSocket here. Those still queued when their link has gone (a store write under
   * it failed, a new link replaced it) are dropped: the link numbered them past what Redis may
   * have kept, and the client sends again, on its next link, all that was not acknowledged. Kept,
   * they made a gap, and the session ended with 1002 after a Redis restart (issue 26).
   */
  _receive(frames: Frame[], via: Link): void {
    this._lastIn = Date.now()
    this._chain = this._chain
      .then(() => this._links[via.name] == via && this.frames(frames, via.name, via))
      .catch((e) => this._oops(e))
  }

  /**
   * A POST body here (its `ack` first); resolves to the response's frames. A body that overtook
   * the one before it (two requests on two connections, maybe two nodes) is tried again every
   * GAP_WAIT ms, out of the session's chain so that the one it waits for can be taken meanwhile
   * on this node; after GAP_TRIES it is refused (HTTP 503), and the client, which keeps it until
   * acknowledged, sends it again. Answered 200 instead, it freed the client's slot for the next
   * body, a gap too, and the messages were never sent again (issue 25).
   */
  _post(frames: Frame[], ask: { ack: number; t: string }, tries = 0): Promise<Frame[] | null> {
    const replies: Frame[] = []
    const kind = ask.t as Link['name']
    const done = this._chain
      .then(() => this._host.store.ackOutgoing(this.id, ask.ack))
      .then(() => this.frames(frames, kind, undefined, replies))
      // A body that broke the protocol or a bound ended the session: HTTP 400, as in one process.
      .then((ok) => (ok ? replies : null))
    // A body refused for a gap is the client's to send again: nothing here went wrong.
    this._chain = done.catch((e) => e instanceof Early || this._oops(e))
    return done.catch((e) => {
      if (!(e instanceof Early) || tries >= GAP_TRIES) throw e
      return new Promise((wake) => setTimeout(wake, GAP_WAIT)).then(() => this._post(frames, ask, tries + 1))
    })
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
  private _oops(e: unknown): void {
    this._host.log('warn', 'cluster: frames not handled:', e)
    for (const l of Object.values(this._links)) {
      l!.end(true)
      this._detach(l!)
    }
  }

  /** Client frames (PROTOCOL.md §6): messages kept in Redis first, then acks, `u`, pings, the close. */
  /** Whether the frames were taken: false when they ended the session (a protocol error, a bound). */
  async frames(frames: Frame[], kind: Link['name'], link?: Link, replies?: Frame[]): Promise<boolean> {
    const store = this._host.store
    const o = this._host.o
    let seq = link ? link.inSeq : 0
    let first = 0
    const msgs: StoredMessage[] = []
    const after: string[] = []
    const add = (m: StoredMessage) => {
      const n = typeof m == 'string' ? Buffer.byteLength(m) : m.length
      if (n > o.maxMessageSize)
        throw new Bad(Code.MESSAGE_TOO_BIG, 'message of ' + n + ' bytes exceeds ' + o.maxMessageSize)
      if (!seq) throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: message before sequence marker')
      if (!msgs.length) first = seq
      else if (first + msgs.length != seq) throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: two runs in one body')
      msgs.push(m)
      seq++
    }
    try {
      for (const f of frames) {
        if (typeof f != 'string') add(Buffer.from(f.buffer, f.byteOffset, f.byteLength))
        else if (f[0] == FrameType.Message) add(f.slice(1))
        else if (f[0] == FrameType.Batch) for (const m of batch(f)) add(m)
        else if (f[0] == FrameType.Seq && num(f) >= 1) seq = num(f)
        else if (f[0] == FrameType.Close) {
          // Checked as in one process, before anything of the body is kept.
          const bad = clientClose(f)
          if (typeof bad == 'string') throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: ' + bad)
          after.push(f)
        } else if (f[0] == FrameType.Ping || f[0] == FrameType.Pong) after.push(f)
        else if ((f[0] == FrameType.Use && num(f) >= 1) || (f[0] == FrameType.Ack && num(f) >= 0)) after.push(f)
        else throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: unknown frame ' + JSON.stringify(f.slice(0, 16)))
      }
    } catch (e) {
      if (!(e instanceof Bad)) throw e
      return this._ended(e.code, e.message)
    }
    if (link) link.inSeq = seq
    // Messages, or the first frame of all (it confirms the session), are kept before anything is acknowledged.
    if (msgs.length || !this._confirmed) {
      const r = await store.recordIncoming(this.id, first || seq || 1, msgs)
      if (r.status == 'gap') {
        // A POST may have overtaken the one before it; Redis with less than it had before has lost some.
        if (replies && r.received >= this._received)
          throw new Early('upload before the one it follows, which did not come')
        // A WebSocket's frames are taken in order, and a client rewinds from what it was told
        // Redis has: a gap means Redis lost messages it had acknowledged (docs/scaling.md).
        return this._lost(LOST + ' (it has ' + r.received + ')', replies)
      }
      if (r.status == 'overflow')
        return this._ended(Code.BUFFER_OVERFLOW, 'buffer overflow: inbox over maxBufferedAmount')
      if (r.status != 'ok') {
        // Gone or ended meanwhile: the links here hear how.
        await this.pump()
        return true
      }
      // Not 1 for a first frame without messages (`u1`, `s1`): an `a1` would acknowledge a message
      // the client never sent, and it would end the connection (ack beyond what was sent).
      this._confirmed = true
      this._received = Math.max(this._received, r.received)
      this._host.received(this.id, r.received - r.fresh + 1, msgs.slice(msgs.length - r.fresh))
      if (!replies) this._ackLater(r.received)
    }
    for (const f of after) {
      const type = f[0]
      if (type == FrameType.Ack) {
        // The client has messages Redis no longer knows it sent: their numbers would be used again.
        if ((await store.ackOutgoing(this.id, num(f))).status == 'ahead') return this._lost(LOST, replies)
      } else if (type == FrameType.Ping) {
        const pong = FrameType.Pong + f.slice(1)
        if (replies) replies.push(pong)
        else if (link && link.ready()) link.write([pong])
      } else if (type == FrameType.Use) {
        const r = await store.activate(this.id, kind, num(f))
        if (r.status == 'active') this._switched(kind + ' ' + r.holder, store.node)
      } else if (type == FrameType.Close) {
        const [code, reason] = clientClose(f) as [number, string]
        // As in one process: the client said it; nothing is said back (nor on the `e` hint it brings).
        this._byClient = true
        await store.close(this.id, null, code, reason, false)
        this._bye(code, reason)
      }
    }
    // The acknowledgement last, after the pongs, as in one process.
    if (replies) replies.push(FrameType.Ack + this._received)
    return true
  }

  /** End the session for what the client sent; its frames were not taken. */
  private _ended(code: number, reason: string): false {
    this._end(code, reason)
    return false
  }

  /**
   * End the session with 3901: Redis lost what it had acknowledged. A POST is answered with the
   * close (200, as for a session gone), not refused as a protocol error.
   */
  private _lost(reason: string, replies?: Frame[]): boolean {
    this._end(Code.SESSION_EXPIRED, reason)
    if (!replies) return false
    replies.push(closeFrame(Code.SESSION_EXPIRED, reason, this._version))
    return true
  }

  /** `a<received>` on the WebSocket after 128 messages or 100 ms. */
  private _ackLater(received: number): void {
    this._received = Math.max(this._received, received)
    if (this._received - this._acked >= ACK_MESSAGES) this._ackNow()
    else if (!this._ackT) this._ackT = setTimeout(() => this._ackNow(), ACK_DELAY)
  }

  private _ackNow(): void {
    clearTimeout(this._ackT)
    this._ackT = undefined
    const l = this._links.websocket
    if (l && l.ready() && this._received > this._acked) {
      this._acked = this._received
      l.write([FrameType.Ack + this._received])
    }
  }
}

/**
 * Why a session ends with 3901 when Redis lost writes it had acknowledged (durable or not): what
 * the client has and what Redis has no longer agree, and resuming would lose or double messages.
 */
const LOST = 'session lost: Redis lost acknowledged messages'

/** A client's frame that ends its session with `code`. */
class Bad extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** A POST body whose first message is beyond what Redis has, after waiting for the one before it. */
class Early extends Error {}

/** `s<first>` and the messages (text batched into `M` frames). */
function withSeq(first: number, messages: StoredMessage[]): Frame[] {
  return messageFrames(messages, 0, messages.length, [FrameType.Seq + first])
}

/** The texts of an `M` frame; a malformed one ends the session. */
function batch(f: string): string[] {
  const list = parseBatch(f)
  if (list) return list
  throw new Bad(Code.PROTOCOL_ERROR, 'protocol error: malformed batch')
}
