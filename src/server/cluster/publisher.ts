// One node's room messages, each room's in the order the app sent them (docs/scaling.md, "Order").
// A fan-out runs several scripts (`fanoutChunk` members each) over the members as it read them.
// Two of them side by side reached a member in either order (issue 27): when others had left
// meanwhile, a member sat in an earlier script of the later fan-out. So a node runs one fan-out at
// a time per room, each after the writes of this node it must follow; messages queued meanwhile
// for the room go out together in the next one, which costs Redis less than one fan-out each.
// Rooms do not wait for each other.
import { LifelineError } from '../../protocol/errors'
import type { StoredMessage } from './records'

/** At most this many messages in one fan-out. */
const BATCH = 64

interface Queued {
  data: StoredMessage
  /** Its latest-value key, if it is one (RoomSendOptions.latest). */
  key?: string
  /** The writes of this node it must come after: joins and leaves, its members' own messages. */
  after: Promise<unknown>
  /** Messages go out together only if no write of a member came between them (`follow`). */
  stretch: number
  done: (members: number) => void
  failed: (e: unknown) => void
}

/** Runs one node's room fan-outs, one after another per room, in the order they were asked for. @internal */
export class Publisher {
  /** Per room, the messages not yet out, while its fan-outs run. */
  private _queues = new Map<string, Queued[]>()
  private _stretch = 0
  /** Per room, the last message queued for it, until it is in Redis. */
  private _last = new Map<string, Promise<unknown>>()
  /** Messages queued, all rooms together, until each is in Redis or failed. */
  private _queued = 0

  constructor(
    /** Put `messages` (with their latest-value keys) out to every member of `room`; resolves to how many took them. */
    private _fanout: (room: string, messages: StoredMessage[], keys: Array<string | undefined>) => Promise<number>,
    /** Messages queued at most (`cluster.maxPublishQueue`); one more is refused. */
    private readonly _max: number = Infinity,
  ) {}

  /**
   * Queue `data` for `room`, to go out after `after` and after every message queued before it for
   * `room`. Resolves to how many members took it (with the messages that went out in the same
   * fan-out: a member past its bounds with all of them took none).
   */
  publish(room: string, data: StoredMessage, after: Promise<unknown>, key?: string): Promise<number> {
    if (this._queued >= this._max) return Promise.reject(this.full())
    this._queued++
    let queue = this._queues.get(room)
    const running = !!queue
    if (!queue) this._queues.set(room, (queue = []))
    const p = new Promise<number>((done, failed) =>
      queue.push({ data, key, after, stretch: this._stretch, done, failed }),
    )
    const out = p.then(
      () => void this._queued--,
      () => void this._queued--,
    )
    this._last.set(room, out)
    void out.then(() => this._last.get(room) == out && this._last.delete(room))
    if (!running) void this._run(room, queue)
    return p
  }

  /** Whether one more message would be refused. */
  get isFull(): boolean {
    return this._queued >= this._max
  }

  /** The error a message past `cluster.maxPublishQueue` is refused with. */
  full(): LifelineError {
    return new LifelineError(
      'LL_ERR_BUFFER_FULL',
      `cluster: ${this._max} room messages on their way to Redis already (cluster.maxPublishQueue)`,
    )
  }

  /**
   * A write of this node to a member of `rooms` is made now (its own messages, a join, a leave, a
   * close): resolves once the messages queued before it for any of them are in Redis, or at once
   * (undefined) when none is on its way. Those queued after it wait for it (their `after`).
   */
  follow(rooms: Iterable<string>): Promise<unknown> | undefined {
    this._stretch++
    const waits: Promise<unknown>[] = []
    for (const room of rooms) {
      const last = this._last.get(room)
      if (last) waits.push(last)
    }
    return waits.length ? Promise.all(waits) : undefined
  }

  /** Fan out `room`'s queue until it is empty. */
  private async _run(room: string, queue: Queued[]): Promise<void> {
    while (queue.length) {
      const { stretch } = queue[0]
      let n = 1
      while (n < queue.length && n < BATCH && queue[n].stretch == stretch) n++
      const batch = queue.splice(0, n)
      try {
        await Promise.all(batch.map((m) => m.after))
        const members = await this._fanout(
          room,
          batch.map((m) => m.data),
          batch.map((m) => m.key),
        )
        for (const m of batch) m.done(members)
      } catch (e) {
        for (const m of batch) m.failed(e)
      }
    }
    this._queues.delete(room)
  }
}
