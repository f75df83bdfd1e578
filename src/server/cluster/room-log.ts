// Rooms as logs in Redis (issue 27, docs/scaling.md "Rooms in Redis"): one Redis Stream per room,
// entry ids `<offset>-0`, appended by one script in the room's own hash slot that also publishes
// each message (SPUBLISH on a Redis Cluster, to the room's shard), so the channel's order is
// offset order and a room message costs one write whatever the room's size. A member's position is
// an offset its client holds; nothing is written per member per message. Used for members whose
// clients hold their positions (PROTOCOL.md §6.5); the others still get each message in their own
// log (cluster/rooms.ts).
import { runScript, type RedisArg, type RedisLink, type RedisReply } from './redis'
import { ROOM_APPEND, ROOM_HEAD, ROOM_MEMBER, ROOM_READ } from './lua'
import { int, pack, unpack, type StoredMessage } from './records'

/** Messages of consecutive offsets from `first`. */
export interface RoomRun {
  first: number
  messages: StoredMessage[]
}

/**
 * What a read of a room gives: runs of messages from the offset asked for up to `upto` (latest
 * values a newer one of their key replaced left out), or a reset (the room goes on from `next`).
 */
export type RoomRead = { status: 'ok'; next: number; upto: number; runs: RoomRun[] } | { status: 'reset'; next: number }

/** Every room's log of one app (one key prefix) in Redis. @internal */
export class ClusterRoomLogs {
  constructor(
    private readonly _link: RedisLink,
    private readonly _prefix: string,
    /** Messages a room keeps (`roomHistorySize`). */
    private readonly _size = 1000,
    /** How long, ms (`roomHistoryAge`). */
    private readonly _age = 60000,
  ) {}

  /** The keys of `room`, all in its hash slot: head hash, stream. */
  keys(room: string): [string, string] {
    return [this._prefix + 'rh:{' + room + '}', this._prefix + 'rl:{' + room + '}']
  }

  /** The pub/sub channel `room`'s messages are published on, as `<offset> <packed message>`. */
  channel(room: string): string {
    return this._prefix + 'rc:{' + room + '}'
  }

  /**
   * Append `messages` to `room` (one script), each with its latest-value key in `keys` if any;
   * resolves to their first and last offsets.
   */
  async append(
    room: string,
    messages: StoredMessage[],
    keys: Array<string | undefined> = [],
  ): Promise<{ first: number; last: number }> {
    const args: RedisArg[] = [String(this._size), String(this._age), this.channel(room), this._sharded ? 's' : 'p']
    messages.forEach((m, i) => args.push(keys[i] === undefined ? '-' : '+' + keys[i], pack(m)))
    const r = (await runScript(this._link, ROOM_APPEND, this.keys(room), args)) as RedisReply[]
    return { first: int(r[0]), last: int(r[1]) }
  }

  /**
   * Member `sid` of `room` (set `members`, in the room's slot) joins or leaves; resolves to the
   * room's next offset, where a member joining now starts.
   */
  async member(room: string, members: string, sid: string, join: boolean): Promise<number> {
    const r = await runScript(this._link, ROOM_MEMBER, [this.keys(room)[0], members], [sid, join ? '1' : '0'])
    return int(r as RedisReply)
  }

  /** The offset `room`'s next message will have: where a member joining now starts. */
  async head(room: string): Promise<number> {
    return int((await runScript(this._link, ROOM_HEAD, [this.keys(room)[0]], [])) as RedisReply)
  }

  /** Up to `max` of `room`'s messages from offset `from`, or a reset when the room no longer keeps it. */
  async read(room: string, from: number, max = 1000): Promise<RoomRead> {
    const args = [String(from), String(max), String(this._age)]
    const r = (await runScript(this._link, ROOM_READ, this.keys(room), args)) as RedisReply[]
    const next = int(r[1])
    if (String(r[0]) == 'reset') return { status: 'reset', next }
    const flat = (r[3] || []) as RedisReply[]
    const runs: RoomRun[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const offset = int(flat[i])
      const last = runs[runs.length - 1]
      if (last && last.first + last.messages.length == offset) last.messages.push(unpack(flat[i + 1]))
      else runs.push({ first: offset, messages: [unpack(flat[i + 1])] })
    }
    return { status: 'ok', next, upto: int(r[2]), runs }
  }

  /**
   * Follow `room`'s channel: `fn(offset, message)` for each message published (a hint: the stream
   * is the truth). On a Redis Cluster a shard channel, on the shard that holds the room.
   */
  follow(room: string, fn: (offset: number, message: StoredMessage) => void): Promise<void> {
    const heard = (b: Buffer) => {
      const sp = b.indexOf(0x20)
      fn(+b.toString('latin1', 0, sp), unpack(b.subarray(sp + 1)))
    }
    return this._link.subscribe(this.channel(room), heard, this._sharded)
  }

  /** Stop following `room`'s channel (a link that cannot unsubscribe keeps it). */
  async unfollow(room: string): Promise<void> {
    if (this._link.unsubscribe) await this._link.unsubscribe(this.channel(room), this._sharded)
  }

  /** Room channels are shard channels on a Redis Cluster (plain ones on one server, as before). */
  private get _sharded(): boolean {
    return !!this._link.cluster
  }
}
