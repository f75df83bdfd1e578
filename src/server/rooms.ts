import type { Clock } from '../protocol/clock'
import { LifelineError } from '../protocol/errors'
import { serverClock } from './clock'
import type { RoomCursors } from './room-cursors'
import { RoomLog } from './room-log'

/** What a room needs of a member session. @internal */
export interface RoomMember {
  readonly closed: boolean
  /**
   * Its places in its rooms, when its client holds its own positions (PROTOCOL.md §6.5); absent
   * for a client before that, which gets room messages in its own sequence (`_queue`).
   */
  readonly _roomCursors?: RoomCursors
  /** Queue a message the session may keep as it is (copied once for all members). */
  _queue(d: string | Buffer): boolean
  /** Its rooms have something new: write it soon. */
  _wake(): void
}

/** A room in one process: its members and its one log. */
interface Room<S> {
  members: Set<S>
  log: RoomLog
}

/**
 * Room membership in one process (docs/scaling.md "Rooms"): a room is a set of sessions and one
 * log of its messages, numbered by offset and kept once for all of them, within `size` messages
 * and `age` ms. A member whose client holds its positions is written from the log (PROTOCOL.md
 * §6.5); one whose client does not gets each message queued in its own log, in its own sequence.
 * A room exists while it has members. @internal
 */
export class Rooms<S extends RoomMember = RoomMember> {
  private _rooms = new Map<string, Room<S>>()
  /** Each member's rooms, only for sessions in any (most sessions are in none). */
  private _of = new Map<S, Set<string>>()
  /**
   * The highest offset any room has given out: a room made afresh starts above it, so a position
   * a client kept from the room's earlier log reads as "before everything" (PROTOCOL.md §6.5).
   */
  private _top = 0

  constructor(
    /** Messages a room keeps for members coming back (`roomHistorySize`). */
    private readonly _size = 1000,
    /** How long, ms (`roomHistoryAge`). */
    private readonly _age = 60000,
    /** Whose `now` dates room messages (the server's `o.clock`). */
    private readonly _clock: Pick<Clock, 'now'> = serverClock,
  ) {}

  join(s: S, room: string): void {
    checkRoom(room)
    let r = this._rooms.get(room)
    if (!r) {
      r = { members: new Set(), log: new RoomLog(this._top + 1, this._size, this._age, this._clock) }
      this._rooms.set(room, r)
    }
    r.members.add(s)
    if (s._roomCursors) s._roomCursors.joined(room, r.log)
    let mine = this._of.get(s)
    if (!mine) this._of.set(s, (mine = new Set()))
    mine.add(room)
  }

  leave(s: S, room: string): void {
    checkRoom(room)
    const r = this._rooms.get(room)
    if (!r || !r.members.delete(s)) return
    if (!r.members.size) this._rooms.delete(room)
    // Its client drops its position in the room (`r0`, PROTOCOL.md §6.5), so `g` names only rooms it is in.
    if (s._roomCursors) {
      s._roomCursors.left(room)
      if (!s.closed) s._wake()
    }
    const mine = this._of.get(s)
    if (mine && mine.delete(room) && !mine.size) this._of.delete(s)
  }

  /** The session ended: it leaves every room it was in. */
  leaveAll(s: S): void {
    const mine = this._of.get(s)
    if (!mine) return
    for (const room of [...mine]) this.leave(s, room)
  }

  /** Rooms `s` is in. */
  of(s: S): string[] {
    return [...(this._of.get(s) || [])]
  }

  /**
   * Keep `d` in `room`'s log and write it to every member; returns how many took it. With `latest`
   * (a key, '' for the room's one), a member coming back gets only the newest of that key.
   */
  send(room: string, d: string | Buffer, latest?: string): number {
    checkRoom(room)
    const r = this._rooms.get(room)
    if (!r) return 0
    this._top = Math.max(this._top, r.log.append(d, latest))
    let n = 0
    // A copy: a member past its bounds ends on `_queue` and leaves the room meanwhile.
    for (const s of [...r.members]) {
      if (s.closed) continue
      if (s._roomCursors) {
        s._wake()
        n++
      } else if (s._queue(d)) n++
    }
    return n
  }
}

/**
 * A room name is any non-empty string the app chooses. No length limit: names come from the app,
 * never from a client's frame.
 * @internal
 */
export function checkRoom(room: unknown): asserts room is string {
  if (typeof room != 'string' || !room)
    throw new LifelineError('LL_ERR_INVALID_OPTION', 'a room name must be a non-empty string')
}
