// The rooms one node follows (issue 27, docs/scaling.md "Rooms in Redis"): it subscribes to a
// room's channel once, for its first session served here in the room, and hands each message
// published there to every such session's active link here. The stream in Redis is the truth: a
// session that sees an offset past the one it expects reads the gap from it (served.ts), and the
// node's periodic pass reads what a room has past the last offset published here (`reconcile`),
// so a publish lost with nothing after it (a subscriber reconnecting) is late, not lost.
import type { StoredMessage } from './records'
import type { ClusterStore } from './store'

/** What a session served here does with its rooms' messages. */
export interface RoomReader {
  /** Message `offset` of `room` was published. */
  _roomMessage(room: string, offset: number, m: StoredMessage): void
}

/** @internal */
export class RoomFeeds {
  private _rooms = new Map<string, Set<RoomReader>>()
  /** Per room, the highest offset published here (0: none yet). */
  private _seen = new Map<string, number>()

  constructor(
    private readonly _node: { store: ClusterStore; _host: { log(level: 'warn', ...args: unknown[]): void } },
  ) {}

  /**
   * `s` (its active link is here) wants `room`'s messages. The node subscribes on the first; the
   * subscription stays for the node's life (the Redis link has no unsubscribe yet).
   */
  add(room: string, s: RoomReader): void {
    let readers = this._rooms.get(room)
    if (!readers) {
      this._rooms.set(room, (readers = new Set()))
      this._node.store.rooms.logs
        .follow(room, (offset, m) => this._hand(room, offset, m))
        .catch((e) => this._node._host.log('warn', 'cluster: following room failed:', e))
    }
    readers.add(s)
  }

  remove(room: string, s: RoomReader): void {
    const readers = this._rooms.get(room)
    if (readers) readers.delete(s)
  }

  private _hand(room: string, offset: number, m: StoredMessage): void {
    this._seen.set(room, Math.max(this._seen.get(room) || 0, offset))
    for (const r of this._rooms.get(room) || []) r._roomMessage(room, offset, m)
  }

  /**
   * Hand over what each room with readers here has past the last offset published here: one read
   * per room, whatever its readers (the node's periodic pass and a subscriber's reconnect).
   */
  async reconcile(): Promise<void> {
    const logs = this._node.store.rooms.logs
    for (const [room, readers] of this._rooms) {
      const seen = this._seen.get(room)
      if (!readers.size || !seen) continue
      const r = await logs.read(room, seen + 1)
      // A reset: the readers find it out themselves when their next read says so.
      if (r.status == 'ok') for (const run of r.runs) run.messages.forEach((m, i) => this._hand(room, run.first + i, m))
    }
  }
}
