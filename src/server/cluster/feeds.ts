// The rooms one node follows (issue 27, docs/scaling.md "Rooms in Redis"): it subscribes to a
// room's channel once, for its first session served here in the room, and hands each message
// published there to every such session's active link here. The stream in Redis is the truth: a
// session that sees an offset past the one it expects reads the gap from it (served.ts), and the
// node's periodic pass reads what a room has past the last offset published here (`reconcile`),
// so a publish lost with nothing after it (a subscriber reconnecting) is late, not lost. A room
// with no session here for a whole pass is unsubscribed. A message is handed to a room's readers a
// thousand at a time per turn of the event loop, in the order published: a room of thousands must
// not hold a busy node's loop, and with it the renewal of its lease, for seconds.
import { SharedFrame } from '../shared-frame'
import type { StoredMessage } from './records'
import type { ClusterStore } from './store'

/** What a session served here does with its rooms' messages. */
export interface RoomReader {
  /** Message `offset` of `room` was published; `frame` is its frame, encoded once for every reader. */
  _roomMessage(room: string, offset: number, m: StoredMessage, frame?: SharedFrame): void
  /** Write what its rooms' logs hold past what it has written. */
  _pump(): Promise<void>
}

/**
 * Deliveries handed in one turn of the event loop, at most: about 15 ms of a node's time. Handed
 * all at once, a room of 10,000 members over three nodes at 10 messages a second held each node's
 * loop for up to 2.6 s at a time on a 2-core machine (several messages read from Redis in one
 * chunk), and the nodes lost their 5 s leases and dropped every link (bench/README.md).
 */
const HAND_TURN = 1000

/** A message being handed to the readers its room had when it was published here. */
interface Handing {
  room: string
  offset: number
  m: StoredMessage
  /** Its frame, encoded once for every reader's link. */
  frame: SharedFrame
  readers: RoomReader[]
  /** How many of them have it. */
  done: number
}

/** One room followed here. */
interface Feed {
  readers: Set<RoomReader>
  /** The highest offset published here (0: none yet). */
  seen: number
  /** Readers that came while the subscription was on its way: they read the log again once it is on. */
  waiting?: Set<RoomReader>
  /** No reader at the last pass: unsubscribed at the next if none came meanwhile. */
  idle: boolean
}

/** @internal */
export class RoomFeeds {
  private _feeds = new Map<string, Feed>()
  /** Unsubscriptions on their way, by room: a new subscription to it waits for its own. */
  private _leaving = new Map<string, Promise<void>>()
  /** Messages still being handed, in the order they came: one queue for every room, so each keeps its order. */
  private _handing: Handing[] = []

  constructor(
    private readonly _node: { store: ClusterStore; _host: { log(level: 'warn', ...args: unknown[]): void } },
  ) {}

  /** `s` (its active link is here) wants `room`'s messages. The node subscribes on the first. */
  add(room: string, s: RoomReader): void {
    let feed = this._feeds.get(room)
    if (!feed) this._feeds.set(room, (feed = this._follow(room)))
    feed.readers.add(s)
    feed.idle = false
    // A message published before the subscription took effect reached nobody here.
    if (feed.waiting) feed.waiting.add(s)
  }

  remove(room: string, s: RoomReader): void {
    const feed = this._feeds.get(room)
    if (feed) feed.readers.delete(s)
  }

  /** Rooms followed here (for tests and stats). */
  get rooms(): string[] {
    return [...this._feeds.keys()]
  }

  private _follow(room: string): Feed {
    const feed: Feed = { readers: new Set(), seen: 0, waiting: new Set(), idle: false }
    const logs = this._node.store.rooms.logs
    const after = this._leaving.get(room) || Promise.resolve()
    after
      .then(() => logs.follow(room, (offset, m) => this._hand(room, offset, m)))
      .then(() => {
        for (const r of feed.waiting || []) if (feed.readers.has(r)) void r._pump()
      })
      .catch((e) => this._node._host.log('warn', 'cluster: following room failed:', e))
      .finally(() => (feed.waiting = undefined))
    return feed
  }

  private _hand(room: string, offset: number, m: StoredMessage): void {
    const feed = this._feeds.get(room)
    if (!feed) return
    feed.seen = Math.max(feed.seen, offset)
    this._handing.push({ room, offset, m, frame: SharedFrame.message(m), readers: [...feed.readers], done: 0 })
    if (this._handing.length == 1) this._handOn()
  }

  /** Hand what is queued, `HAND_TURN` deliveries in this turn of the event loop; the rest in the next. */
  private _handOn(): void {
    let left = HAND_TURN
    while (this._handing.length) {
      const h = this._handing[0]
      while (h.done < h.readers.length && left-- > 0) {
        const r = h.readers[h.done++]
        try {
          r._roomMessage(h.room, h.offset, h.m, h.frame)
        } catch (e) {
          // One reader's failure is its own: the others, and the messages after, are handed all the same.
          this._node._host.log('warn', 'cluster: handing a room message failed:', e)
        }
      }
      if (h.done < h.readers.length) return void setImmediate(() => this._handOn())
      this._handing.shift()
    }
  }

  /**
   * Hand over what each room with readers here has past the last offset published here: one read
   * per room, whatever its readers (the node's periodic pass and a subscriber's reconnect). A room
   * with no reader here since the last pass is unsubscribed (a poll's link comes and goes: not
   * at once).
   */
  async reconcile(): Promise<void> {
    const logs = this._node.store.rooms.logs
    for (const [room, feed] of [...this._feeds]) {
      if (!feed.readers.size) {
        if (feed.idle && !feed.waiting) this._unfollow(room)
        feed.idle = true
        continue
      }
      if (!feed.seen) continue
      const r = await logs.read(room, feed.seen + 1)
      // A reset: the readers find it out themselves when their next read says so.
      if (r.status == 'ok') for (const run of r.runs) run.messages.forEach((m, i) => this._hand(room, run.first + i, m))
    }
  }

  private _unfollow(room: string): void {
    this._feeds.delete(room)
    const gone = this._node.store.rooms.logs
      .unfollow(room)
      .catch((e) => this._node._host.log('warn', 'cluster: unsubscribing from a room failed:', e))
    this._leaving.set(room, gone)
    void gone.then(() => this._leaving.get(room) == gone && this._leaving.delete(room))
  }
}
