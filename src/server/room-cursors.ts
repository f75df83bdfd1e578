import { FrameType, leftFrame, type Frame } from '../protocol/frames'
import type { RoomLog } from './room-log'

/** Where a session stands in one of its rooms. */
interface Cursor {
  log: RoomLog
  /** The room's next offset when the session joined: it gets nothing before it. */
  from: number
  /** The next offset to write on the connection carrying the session. */
  next: number
}

/**
 * A session's places in its rooms, for a client that holds its own positions (it sent `g`,
 * PROTOCOL.md §6.5): per room, where it joined and what to write next on the connection carrying
 * it. When a connection starts carrying the session, each room starts again from the client's
 * position. Nothing here grows with the room's messages. A room the client may hold a position in
 * that the session is not in gets `r0 <room>`, so that the client drops it. @internal
 */
export class RoomCursors {
  private _rooms = new Map<string, Cursor>()
  /** Rooms the session left, or the client's positions name and it is not in: each gets `r0 <room>` once. */
  private _gone = new Set<string>()
  /** The room whose run the connection is in (after an `r` frame); undefined: the session's own sequence. */
  private _run?: string
  /** The offset the run's next message would take without a new `r` frame. */
  private _runNext = 0

  joined(room: string, log: RoomLog): void {
    if (!this._rooms.has(room)) this._rooms.set(room, { log, from: log.next, next: log.next })
    this._gone.delete(room)
  }

  left(room: string): void {
    this._rooms.delete(room)
    this._gone.add(room)
  }

  /**
   * A connection starts carrying the session: each room goes on after the client's position in
   * it (`got`, from its request), or from where the session joined if that is later or the client
   * has none; never past what the room has (a client claiming more drops its own messages). A
   * position in a room the session is not in is told to go: `got` is all the client holds.
   */
  activate(got: ReadonlyMap<string, number> | undefined): void {
    this._run = undefined
    if (got) this._gone = new Set([...got.keys()].filter((room) => !this._rooms.has(room)))
    for (const [room, r] of this._rooms) {
      const after = got && got.get(room)
      r.next = Math.max(r.from, Math.min(after === undefined ? 0 : after + 1, r.log.next))
    }
  }

  /** The session's own messages were written: a room's next message needs its `r` frame again. */
  own(): void {
    this._run = undefined
  }

  /**
   * Frames for what each room has past the session's place in it, added to `frames`: `r0` for the
   * rooms gone, an `r` frame where the connection's run changes, the messages, or an `x` frame for
   * a room whose history no longer reaches back to that place (it goes on from now). Returns
   * whether it added any.
   */
  take(frames: Frame[]): boolean {
    const before = frames.length
    if (this._gone.size) {
      for (const room of this._gone) frames.push(leftFrame(room))
      this._gone.clear()
      this._run = undefined
    }
    for (const [room, r] of this._rooms) {
      const log = r.log
      if (r.next >= log.next) continue
      if (r.next < log.first) {
        frames.push(FrameType.RoomReset + log.next + ' ' + room)
        r.next = log.next
        this._run = undefined
        continue
      }
      // Runs of consecutive offsets: latest values a newer one of their key replaced are left out.
      for (const run of log.runs(r.next)) {
        if (this._run != room || this._runNext != run.first) frames.push(FrameType.Room + run.first + ' ' + room)
        frames.push(...run.frames)
        this._run = room
        this._runNext = log.next
      }
      r.next = log.next
    }
    return frames.length > before
  }
}
