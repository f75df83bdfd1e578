// The rooms one node follows (issue 27, docs/scaling.md "Rooms in Redis"): it subscribes to a
// room's channel once, for its first session served here in the room, and hands each message
// published there to every such session's active link here. The stream in Redis is the truth: a
// session that sees an offset past the one it expects reads the gap from it (served.ts).
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
        .follow(room, (offset, m) => {
          for (const r of this._rooms.get(room) || []) r._roomMessage(room, offset, m)
        })
        .catch((e) => this._node._host.log('warn', 'cluster: following room failed:', e))
    }
    readers.add(s)
  }

  remove(room: string, s: RoomReader): void {
    const readers = this._rooms.get(room)
    if (readers) readers.delete(s)
  }
}
