// Rooms in cluster mode (docs/cluster-design.md §10): a room is a set of session ids in Redis, in
// its own hash slot; a session's own set of rooms sits with its other keys. For clients before room
// logs (and for broadcast()), a room message goes into every member's outgoing log, so it resumes
// with the member's own messages: one script per slot of members on a Redis Cluster. Held by the store.
import { runScript, type RedisArg, type RedisLink, type RedisReply, type Script } from './redis'
import { int, pack, refusal, status, type Refusal, type StoredMessage } from './records'
import * as S from './lua'
import type { ClusterRoomLogs } from './room-log'
import { slotGroups } from './slot'

/** Fan-out scripts in flight at once (on a Redis Cluster each slot of members needs one of its own). */
const SLOT_WAVE = 32

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

  /**
   * A client before room logs joins or leaves: the room's set (where the fan-out finds members)
   * and the session's own rooms (which the fan-out asks, in the session's slot) in two steps, in
   * the order that never has the fan-out take a member that is not in: the room's set first on a
   * join, last on a leave.
   */
  private async _member(sid: string, fence: number, room: string, join: string) {
    const h = this._session(sid)
    if (join == '1') await this._link.command(['SADD', this._key(room), sid])
    const r = await this._run(S.MEMBER, [h, h + ':r'], [String(fence), room, join])
    if (join == '0' || status(r) != 'ok') await this._link.command(['SREM', this._key(room), sid])
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

  /** How many sessions are in `room` (those ended meanwhile until a fan-out or their close removes them). */
  async count(room: string): Promise<number> {
    const [a, b] = await Promise.all([this._key(room), this._logKey(room)].map((k) => this._link.command(['SCARD', k])))
    return int(a as RedisReply) + int(b as RedisReply)
  }

  /** How many members of `room` are written from its log (their clients hold their positions). */
  async loggedCount(room: string): Promise<number> {
    return int((await this._link.command(['SCARD', this._logKey(room)])) as RedisReply)
  }

  /** Members that get room messages in their own log (sids). */
  async members(room: string): Promise<string[]> {
    return ((await this._link.command(['SMEMBERS', this._key(room)])) as RedisReply[]).map(String)
  }

  /**
   * Put `messages` into the log of every member of `room`: the members as they are now, in
   * scripts of `chunk` at most (one script blocks Redis for ~12 us per member: 10,000 in one
   * would hold every other client for 120 ms), and on a Redis Cluster of one hash slot each
   * (`SLOT_WAVE` of them at a time). Each member gets them once. Two publishes side by side may
   * reach a member in either order, even from one caller: each reads the members, whose order in
   * the set changes as others join and leave (issue 27); a node runs one at a time per room
   * (publisher.ts). Replies how many members took them, and which were ended for passing their
   * bounds.
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
      room,
      String(this.o.maxBufferedAmount),
      String(this.o.maxQueueLength),
      this.o.prefix + 'n:',
      'buffer overflow: client is not reading',
      String(packed.length),
      ...packed,
    ]
    let delivered = 0
    const overflowed: string[] = []
    const out: string[] = []
    const groups = slotGroups(members, this._session, chunk, this._link.cluster)
    for (let i = 0; i < groups.length; i += SLOT_WAVE) {
      const wave = groups
        .slice(i, i + SLOT_WAVE)
        .map((sids) => this._run(S.FANOUT, [this._session(sids[0])], [...head, ...sids]))
      for (const r of await Promise.all(wave)) {
        delivered += int(r[0])
        for (const sid of r[1] as RedisReply[]) overflowed.push(String(sid))
        for (const sid of [...(r[1] as RedisReply[]), ...(r[2] as RedisReply[])]) out.push(String(sid))
      }
    }
    // Ended, gone or past their bounds: out of the room (its set is in the room's slot).
    if (out.length) await this._link.command(['SREM', this._key(room), ...out])
    return { delivered, overflowed }
  }

  /** Session `sid` ended: out of each of `rooms` (their sets live in other slots: one by one). */
  async forget(sid: string, rooms: string[]): Promise<void> {
    for (const room of rooms)
      for (const k of [this._key(room), this._logKey(room)]) await this._link.command(['SREM', k, sid])
  }
}
