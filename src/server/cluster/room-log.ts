// Rooms as logs in Redis (issue 27, docs/scaling.md "Rooms in Redis"): one Redis Stream per room,
// entry ids `<offset>-0`, appended by one script in the room's own hash slot that also publishes
// each message (SPUBLISH on a Redis Cluster, to the room's shard), so the channel's order is
// offset order and a room message costs one write whatever the room's size. A member's position is
// an offset its client holds; nothing is written per member per message. Used for members whose
// clients hold their positions (PROTOCOL.md §6.5); the others still get each message in their own
// log (cluster/rooms.ts).
import { Script, runScript, type RedisArg, type RedisLink, type RedisReply } from './redis'
import { int, pack, unpack, type StoredMessage } from './records'

/** Lua helpers: Redis' time in ms, and offsets as whole numbers (Lua prints 1.8e14 as `1.8e+14`). */
const TIME = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function id(n) return string.format('%.0f', n) .. '-0' end
-- A room made afresh starts above the time in ms x 100: above every offset an earlier log of the
-- same name gave out, unless that one averaged more than 100 messages a millisecond.
local function next_of(h)
  local n = tonumber(redis.call('HGET', h, 'next'))
  if n then return n, false end
  n = now * 100
  redis.call('HSET', h, 'next', string.format('%.0f', n))
  return n, true
end
`

/**
 * Entries past `roomHistoryAge` are trimmed in steps of this fraction of it. A read never serves
 * them (ROOM_READ checks the age). Looking for them on every append read the stream's oldest
 * hundred entries each time: an append took 140 us of Redis' time, about 40 now that it reads one
 * entry, and the hundred once per step.
 */
const AGE_STEPS = 8

/**
 * Append to a room. KEYS: head hash, stream. ARGV: size, age ms, channel, `s` to publish with
 * SPUBLISH (a Redis Cluster: the channel is in the room's slot) or `p` with PUBLISH, then per
 * message its latest-value key (`-` none, `+<key>`) and the packed message.
 * Each message gets the next offset, is added with Redis' time, and is published as
 * `<offset> <packed>`; then the stream is trimmed to `size` and, once its oldest entry is older
 * than `age` and a step (`AGE_STEPS`), of the entries older than `age`, a hundred at most per
 * call. Replies the first and last offsets.
 */
export const ROOM_APPEND = new Script(
  'room-append',
  TIME +
    `local n = next_of(KEYS[1])
local first = n
local publish = 'PUBLISH'
if ARGV[4] == 's' then publish = 'SPUBLISH' end
for i = 5, #ARGV, 2 do
  if ARGV[i] == '-' then redis.call('XADD', KEYS[2], id(n), 'd', ARGV[i + 1], 't', now)
  else redis.call('XADD', KEYS[2], id(n), 'd', ARGV[i + 1], 't', now, 'k', string.sub(ARGV[i], 2)) end
  redis.call(publish, ARGV[3], string.format('%.0f', n) .. ' ' .. ARGV[i + 1])
  n = n + 1
end
redis.call('HSET', KEYS[1], 'next', string.format('%.0f', n))
redis.call('XTRIM', KEYS[2], 'MAXLEN', ARGV[1])
local old = now - tonumber(ARGV[2])
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if oldest and tonumber(oldest[2][4]) < old - tonumber(ARGV[2]) / ${AGE_STEPS} then
  local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 100)
  local keep = nil
  for _, e in ipairs(head) do
    if tonumber(e[2][4]) >= old then keep = e[1] break end
  end
  if keep then redis.call('XTRIM', KEYS[2], 'MINID', keep)
  elseif #head > 0 then
    redis.call('XTRIM', KEYS[2], 'MINID', id(tonumber(string.match(head[#head][1], '^(%d+)')) + 1))
  end
end
return {string.format('%.0f', first), string.format('%.0f', n - 1)}`,
)

/** A room's next offset (a member joining starts there). KEYS: head hash. Makes the room's head if it has none. */
export const ROOM_HEAD = new Script('room-head', TIME + `return string.format('%.0f', (next_of(KEYS[1])))`)

/**
 * The room's side of a member whose client holds its positions joining (ARGV: sid, 1) or leaving
 * (sid, 0). KEYS: head hash, the room's such members. Replies the room's next offset: where a
 * member joining starts. All in the room's slot.
 */
export const ROOM_MEMBER = new Script(
  'room-member',
  TIME +
    `if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
return string.format('%.0f', (next_of(KEYS[1])))`,
)

/**
 * A room's messages from offset `from`. KEYS: head hash, stream. ARGV: from, max, age ms.
 * Replies ok + next offset + the last offset read + offset and message of each kept (of the
 * latest values read, only the newest of each key), or reset + next offset when the stream no
 * longer holds `from` (trimmed by count or age, or the room's log was lost and made afresh).
 */
export const ROOM_READ = new Script(
  'room-read',
  TIME +
    `local n, fresh = next_of(KEYS[1])
local from = tonumber(ARGV[1])
if from >= n then return {'ok', string.format('%.0f', n), string.format('%.0f', from - 1), {}} end
if fresh then return {'reset', string.format('%.0f', n)} end
local list = redis.call('XRANGE', KEYS[2], id(from), '+', 'COUNT', ARGV[2])
if #list == 0 or list[1][1] ~= id(from) or tonumber(list[1][2][4]) < now - tonumber(ARGV[3]) then
  return {'reset', string.format('%.0f', n)}
end
local out, newer = {}, {}
for j = #list, 1, -1 do
  local e = list[j]
  local k = e[2][6]
  if not k or not newer[k] then
    table.insert(out, 1, e[2][2])
    table.insert(out, 1, string.match(e[1], '^(%d+)'))
  end
  if k then newer[k] = true end
end
return {'ok', string.format('%.0f', n), string.match(list[#list][1], '^(%d+)'), out}`,
)

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
