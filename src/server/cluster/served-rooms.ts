// The room runs of a session served on this node (issue 27, PROTOCOL.md §6.5), for a client that
// holds its room positions: per room, the next offset to write on the active link here, read from
// the room's log in Redis or handed over as it is published (feeds.ts). What one process does with
// room-cursors.ts, over Redis. The session's own messages are served.ts's.
import { FrameType, leftFrame, messageFrames, type Frame } from '../../protocol/frames'
import type { Link } from '../link'
import type { SharedFrame } from '../shared-frame'
import type { ServerResolved } from '../options'
import type { RoomFeeds, RoomReader } from './feeds'
import type { StoredMessage } from './records'
import type { ClusterStore } from './store'

/** What the room runs need of the session they belong to (served.ts). @internal */
export interface RoomRunsHost {
  readonly id: string
  readonly closed: boolean
  readonly _host: {
    o: Pick<ServerResolved, 'clock'>
    store: ClusterStore
    feeds: RoomFeeds
    log(level: 'warn', ...args: unknown[]): void
  }
  /** The active link here, if it can take frames now. */
  _ready(): Link | undefined
  /** When something was last written to the client here. */
  _lastOut: number
}

/** Messages read from a room's log per round trip. */
const READ_MAX = 1000

/** @internal */
export class ServedRooms implements RoomReader {
  /** Per room, the next offset to write on the active link here. Undefined until such a link is active here. */
  private _next?: Map<string, number>
  /** The room positions each kind of link's request carried, until used. */
  private _got: Partial<Record<Link['name'], ReadonlyMap<string, number>>> = {}
  /** The room whose run the active link is in (`r` frame), and the offset its next message would take. */
  private _run = ''
  private _runNext = 0
  /** Rooms the session left, or the client's positions name and it is not in: each gets `r0 <room>` once. */
  private _gone = new Set<string>()
  /** Whether a pass writing the rooms is on, and that pass: a caller waits for it (a poll answers after it). */
  private _pumping = false
  private _current = Promise.resolve()
  private _again = false
  /** A read of a room's log failed (Redis away): the node's upkeep reads again on its next pass. */
  _unread = false
  /** A read of the rooms joined after an `r` hint failed: the upkeep reads them again too. */
  _unchanged = false

  constructor(private readonly _s: RoomRunsHost) {}

  /** A link of `kind` arrived with the client's positions (`got`, from its request; undefined: none). */
  _arrived(kind: Link['name'], got?: ReadonlyMap<string, number>): void {
    this._got[kind] = got
  }

  /**
   * A link of `kind` carries the session here now. Its positions are used once (a `u` on it later
   * goes on from what was written): each room goes on after the client's position, or from where
   * the session joined if that is later or the client has none. A position in a room the session
   * is not in is told to go: the positions are all the client holds.
   */
  async _carried(kind: Link['name']): Promise<void> {
    const got = this._got[kind]
    delete this._got[kind]
    if (!got) return
    const joined = await this._s._host.store.rooms.joined(this._s.id)
    this._gone = new Set([...got.keys()].filter((room) => !joined.has(room)))
    const next = new Map<string, number>()
    for (const [room, from] of joined) {
      const p = got.get(room)
      next.set(room, Math.max(from, p === undefined ? 0 : p + 1))
    }
    this._follow(next)
    this._run = ''
  }

  /** Messages of the session's own sequence were written (or a new link starts): a room needs its `r` frame again. */
  _own(): void {
    this._run = ''
  }

  /** The session joined or left a room (an `r` hint): new rooms start where it joined, those left get `r0`. */
  async _changed(): Promise<void> {
    if (!this._next) return
    this._unchanged = false
    let joined: Map<string, number>
    try {
      joined = await this._s._host.store.rooms.joined(this._s.id)
    } catch (e) {
      // Redis away: the node's upkeep reads them again on its next pass.
      this._unchanged = true
      return this._s._host.log('warn', 'cluster: reading the rooms joined failed:', e)
    }
    if (!this._next) return
    const next = new Map<string, number>()
    for (const [room, from] of joined) {
      next.set(room, this._next.get(room) ?? from)
      this._gone.delete(room)
    }
    for (const room of this._next.keys()) if (!joined.has(room)) this._gone.add(room)
    this._follow(next)
    await this._pump()
  }

  /** Follow exactly the rooms of `next` from now on. */
  private _follow(next: Map<string, number>): void {
    const feeds = this._s._host.feeds
    for (const room of this._next ? this._next.keys() : []) if (!next.has(room)) feeds.remove(room, this)
    for (const room of next.keys()) feeds.add(room, this)
    this._next = next
  }

  /** Stop taking room messages here. */
  _unfollow(): void {
    for (const room of this._next ? this._next.keys() : []) this._s._host.feeds.remove(room, this)
    this._next = undefined
  }

  /**
   * Message `offset` of `room` was published: written at once when it is the next (as `frame`, made
   * once for every member here, when its run goes on); a gap is read from the log.
   */
  _roomMessage(room: string, offset: number, m: StoredMessage, frame?: SharedFrame): void {
    const next = this._next && this._next.get(room)
    if (next === undefined || offset < next) return
    const l = this._s._ready()
    if (offset > next || this._pumping || !l) return void this._pump()
    if (!frame || !this._goesOn(room, offset)) return this._write(l, room, offset, [m])
    this._wrote(room, offset + 1)
    if (l.writeShared) l.writeShared(frame)
    else l.write([frame.frame])
  }

  /**
   * Write each room's messages past what the active link here has, from the room's log, and `r0`
   * for the rooms gone. Resolves when they are written (with a pass already on: after that one).
   */
  _pump(): Promise<void> {
    if (!this._next || this._s.closed) return Promise.resolve()
    if (this._pumping) {
      this._again = true
      return this._current
    }
    this._pumping = true
    return (this._current = this._passes())
  }

  private async _passes(): Promise<void> {
    try {
      do {
        this._again = false
        if (!this._next) return
        const gone = this._gone.size ? this._s._ready() : undefined
        if (gone) {
          gone.write([...this._gone].map(leftFrame))
          this._gone.clear()
          this._run = ''
        }
        for (const [room, next] of [...this._next]) {
          if (!this._s._ready()) return
          const r = await this._s._host.store.rooms.logs.read(room, next, READ_MAX)
          this._unread = false
          const l = this._s._ready()
          // Its link gone meanwhile (a poll answered), or the runs here ended: nothing to write.
          if (!l || !this._next) return
          if (this._next.get(room) !== next) {
            this._again = true
            continue
          }
          if (r.status == 'reset') {
            l.write([FrameType.RoomReset + r.next + ' ' + room])
            this._next.set(room, r.next)
            this._run = ''
          } else if (r.upto >= next) {
            // Runs of consecutive offsets: latest values a newer one of their key replaced are left out.
            for (const run of r.runs) this._write(l, room, run.first, run.messages)
            this._next.set(room, r.upto + 1)
            if (r.upto - next + 1 >= READ_MAX) this._again = true
          }
        }
      } while (this._again)
    } catch (e) {
      this._unread = true
      this._s._host.log('warn', 'cluster: reading a room failed:', e)
    } finally {
      // At once, not a microtask later: a pass asked for meanwhile would be taken for this one.
      this._pumping = false
    }
  }

  /**
   * Write `room`'s messages from offset `first` on `l`, with an `r` frame unless its run goes on. What
   * was written is recorded first: a poll's write answers it, and the link going may end the runs here.
   */
  private _write(l: Link, room: string, first: number, messages: StoredMessage[]): void {
    const frames: Frame[] = this._goesOn(room, first) ? [] : [FrameType.Room + first + ' ' + room]
    this._wrote(room, first + messages.length)
    l.write(messageFrames(messages, 0, messages.length, frames))
  }

  /** Whether offset `first` of `room` goes on the run the link is in: it needs no `r` frame. */
  private _goesOn(room: string, first: number): boolean {
    return this._run == room && this._runNext == first
  }

  /** `room`'s messages up to `next` are being written: the run goes on from there. */
  private _wrote(room: string, next: number): void {
    this._run = room
    this._runNext = next
    this._next!.set(room, next)
    this._s._lastOut = this._s._host.o.clock.now()
  }
}
