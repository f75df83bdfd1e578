import { LifelineError } from '../protocol/errors'

/** What a room needs of a member session. @internal */
export interface RoomMember {
  readonly closed: boolean
  /** Queue a message the session may keep as it is (copied once for all members). */
  _queue(d: string | Buffer): boolean
}

/**
 * Room membership in one process (docs/cluster-design.md §7): a room is a set of sessions, and a
 * room message is queued in each member's own outgoing log, numbered in that session's sequence,
 * so it resumes exactly once and in order like anything else the session was sent. A room exists
 * while it has members. @internal
 */
export class Rooms<S extends RoomMember = RoomMember> {
  private _rooms = new Map<string, Set<S>>()
  /** Each member's rooms, only for sessions in any (most sessions are in none). */
  private _of = new Map<S, Set<string>>()

  join(s: S, room: string): void {
    checkRoom(room)
    let members = this._rooms.get(room)
    if (!members) this._rooms.set(room, (members = new Set()))
    members.add(s)
    let mine = this._of.get(s)
    if (!mine) this._of.set(s, (mine = new Set()))
    mine.add(room)
  }

  leave(s: S, room: string): void {
    checkRoom(room)
    const members = this._rooms.get(room)
    if (members && members.delete(s) && !members.size) this._rooms.delete(room)
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

  /** Queue `d` for every member of `room`; returns how many took it. */
  send(room: string, d: string | Buffer): number {
    checkRoom(room)
    const members = this._rooms.get(room)
    if (!members) return 0
    let n = 0
    // A copy: a member past its bounds ends on `_queue` and leaves the room meanwhile.
    for (const s of [...members]) if (!s.closed && s._queue(d)) n++
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
