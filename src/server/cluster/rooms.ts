// Rooms in cluster mode (docs/cluster-design.md §10): a room is a set of session ids in Redis, in
// its own hash slot; a session's own set of rooms sits with its other keys. A room message goes into
// every member's outgoing log, so it resumes with the member's own messages. Held by the store.
import { runScript, type RedisArg, type RedisLink, type RedisReply, type Script } from './redis'
import { int, pack, refusal, status, type Refusal, type StoredMessage } from './records'
import * as S from './lua'
import type { ClusterRoomLogs } from './room-log'

/** The store's options that rooms use: the key prefix and a member's bounds. */
export interface RoomLimits {
  prefix: string
  maxBufferedAmount: number
  maxQueueLength: number
}

/** Every room of one app (one key prefix). @internal */
export class ClusterRooms {
  constructor(
    private readonly _link: RedisLink,
    readonly o: RoomLimits,
    /** The key of a session's hash (the store's): its other keys are that plus a suffix. */
    private readonly _session: (sid: string) => string,
    /** Each room's one log, for members whose clients hold their positions (PROTOCOL.md §6.5). */
    readonly logs: ClusterRoomLogs,
  ) {}

  /** Members that get room messages in their own log (clients before room logs, and the broadcast room). */
  private _key = (room: string) => this.o.prefix + 'r:{' + room + '}'
  /** Members whose clients hold their positions: written from the room's log, nothing per message. */
  private _logKey = (room: string) => this.o.prefix + 'rg:{' + room + '}'

  private _run(script: Script, keys: string[], args: RedisArg[]): Promise<RedisReply[]> {
    return runScript(this._link, script, keys, args) as Promise<RedisReply[]>
  }

  /**
   * Join `room` (by the session's owner). A session whose client holds its positions (`logged`)
   * starts at the room's next offset, kept with its keys (one write per join, none per message).
   */
  async join(sid: string, fence: number, room: string, logged = false): Promise<{ status: 'ok' } | Refusal> {
    if (!logged) return this._member(sid, fence, room, '1')
    // The room's side first (no script spans two slots): a member counted a moment early costs a
    // write; one missing from the count while its session says it is in would miss messages.
    const from = await this.logs.member(room, this._logKey(room), sid, true)
    const r = await this._sessionRoom(sid, fence, room, '1', from)
    if (r.status != 'ok') await this.logs.member(room, this._logKey(room), sid, false)
    return r
  }

  /** Leave `room`. */
  async leave(sid: string, fence: number, room: string, logged = false): Promise<{ status: 'ok' } | Refusal> {
    if (!logged) return this._member(sid, fence, room, '0')
    const r = await this._sessionRoom(sid, fence, room, '0', 0)
    await this.logs.member(room, this._logKey(room), sid, false)
    return r
  }

  private async _member(sid: string, fence: number, room: string, join: string) {
    const h = this._session(sid)
    const r = await this._run(S.MEMBER, [h, h + ':r', this._key(room)], [String(fence), room, sid, join])
    return status(r) == 'ok' ? { status: 'ok' as const } : refusal(r)
  }

  /** The session's side of a join or leave of a session whose client holds its positions. */
  private async _sessionRoom(sid: string, fence: number, room: string, join: string, from: number) {
    const h = this._session(sid)
    const args = [String(fence), room, sid, join, String(from), this.o.prefix + 'n:']
    const r = await this._run(S.SESSION_ROOM, [h, h + ':r', h + ':rf'], args)
    return status(r) == 'ok' ? { status: 'ok' as const } : refusal(r)
  }

  /** The rooms of a session whose client holds its positions, each with the offset it joined at. */
  async joined(sid: string): Promise<Map<string, number>> {
    const r = (await this._link.command(['HGETALL', this._session(sid) + ':rf'])) as RedisReply[]
    const rooms = new Map<string, number>()
    for (let i = 0; i + 1 < r.length; i += 2) rooms.set(String(r[i]), int(r[i + 1]))
    return rooms
  }

  /** Room members (sids). */
  /** How many sessions are in `room` (those ended meanwhile until a fan-out or their close removes them). */
  async count(room: string): Promise<number> {
    const [a, b] = await Promise.all([this._key(room), this._logKey(room)].map((k) => this._link.command(['SCARD', k])))
    return int(a as RedisReply) + int(b as RedisReply)
  }

  /** How many members of `room` are written from its log (their clients hold their positions). */
  async loggedCount(room: string): Promise<number> {
    return int((await this._link.command(['SCARD', this._logKey(room)])) as RedisReply)
  }

  async members(room: string): Promise<string[]> {
    return ((await this._link.command(['SMEMBERS', this._key(room)])) as RedisReply[]).map(String)
  }

  /**
   * Put `messages` into the log of every member of `room`: the members as they are now, in
   * chunks of `chunk` per script (one script blocks Redis for ~12 us per member: 10,000 in one
   * would hold every other client for 120 ms). Each member gets them once. Two publishes side by
   * side may reach a member in either order, even from one caller: each reads the members, whose
   * order in the set changes as others join and leave (issue 27); a node runs one at a time per
   * room (publisher.ts). Replies how many members took them, and which were ended for passing
   * their bounds.
   */
  async publish(
    room: string,
    messages: StoredMessage[],
    chunk = 1000,
  ): Promise<{ delivered: number; overflowed: string[] }> {
    if (!messages.length) return { delivered: 0, overflowed: [] }
    const members = await this.members(room)
    const packed = messages.map(pack)
    const head = [
      this.o.prefix + 's:',
      String(this.o.maxBufferedAmount),
      String(this.o.maxQueueLength),
      this.o.prefix + 'n:',
      'buffer overflow: client is not reading',
      String(packed.length),
      ...packed,
    ]
    let delivered = 0
    const overflowed: string[] = []
    for (let i = 0; i < members.length; i += chunk) {
      const r = await this._run(S.FANOUT, [this._key(room)], [...head, ...members.slice(i, i + chunk)])
      delivered += int(r[0])
      for (const sid of r[1] as RedisReply[]) overflowed.push(String(sid))
    }
    return { delivered, overflowed }
  }

  /** Session `sid` ended: out of each of `rooms` (their sets live in other slots: one by one). */
  async forget(sid: string, rooms: string[]): Promise<void> {
    for (const room of rooms)
      for (const k of [this._key(room), this._logKey(room)]) await this._link.command(['SREM', k, sid])
  }
}
