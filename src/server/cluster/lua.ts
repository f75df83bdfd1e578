// The Lua scripts of the cluster store. Each runs atomically in Redis, so a sequence number is
// assigned, a bound checked and a fencing token compared in one step with the write they guard.
// Every script touches the keys of one hash slot only, so a Redis Cluster runs them: a session's
// keys are `{sid}`-tagged, a room's `{room}`-tagged, and the room fan-out runs once per slot of
// its members (docs/cluster-design.md). Hints to nodes are plain PUBLISH, which names no key.
// Redis 7.0 only: nothing newer, so Valkey runs them too.
import { Script } from './redis'

/**
 * Shared helpers. Session hash fields: out (last seq sent), ack (client's cursor), ob (bytes not
 * acknowledged), rcv (last seq received), dlv (handed to the app), ib (inbox bytes), own (owner
 * node), fen (fencing token), act ("kind node" of the active link), use (last `u<k>`), cf
 * (confirmed), end ("code reason" once ended), rel (reliable), ttl (ms), rid (the run_id of the Redis
 * process that made it, when the store is not durable; '' when it is), hb (heartbeat the client
 * asked for, ms), h:<node> (that node holds a link of it) and hn (how many nodes do).
 * A stored message is one byte of type ('t' text, 'b' binary) and its bytes.
 */
const COMMON = `
local function fail(what, ...) return {what, ...} end
-- An existing key takes the remaining life of the session hash (a list made now must not outlive it).
local function follow(h, key)
  local left = redis.call('PTTL', h)
  if left > 0 then redis.call('PEXPIRE', key, left) end
end
local function size(list, from, to)
  local bytes = 0
  for j = from, to do bytes = bytes + #list[j] - 1 end
  return bytes
end
-- RPUSH list[from..to] in chunks: Lua's unpack() has a stack limit of a few thousand values.
local function push(key, list, from, to)
  to = to or #list
  for j = from, to, 1000 do
    redis.call('RPUSH', key, unpack(list, j, math.min(j + 999, to)))
  end
end
local function node_of(act) return string.match(act, ' (.+)$') end
local run_id
-- A session made on a Redis process that has restarted since, when nothing says its writes all
-- survived (not durable), may have been rolled back: it is lost, and the client resets visibly.
local function lost(h)
  local rid = redis.call('HGET', h, 'rid')
  if not rid or rid == '' then return false end
  run_id = run_id or string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  return rid ~= run_id
end
-- Why the caller may not write session h, or nil when it may: m is its HMGET, 'fen' first, and
-- with open 'end' second (an ended session refuses too).
local function refused(h, fence, m, open)
  if not m[1] or lost(h) then return fail('gone') end
  if m[1] ~= fence then return fail('fenced') end
  if open and m[2] ~= '' then return fail('ended', m[2]) end
end
`

/**
 * Renew a node's lease. KEYS: its liveness key. ARGV: the token it was taken with, lease ms.
 * Replies 1, or 0 when the key is gone or holds another token: a lease once lapsed is never
 * renewed by its old holder (who then joins again as a new node, its old one staying dead).
 */
export const RENEW = new Script(
  'renew',
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
)

/**
 * KEYS: hash. ARGV: node, ttl, reliable, origin, address, headers, data, durable (1/0), pos (1: the
 * client holds its room positions, PROTOCOL.md §6.5), hb (the heartbeat its opening request asked for, ms).
 */
export const CREATE = new Script(
  'create',
  `if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local rid = ''
if ARGV[8] ~= '1' then rid = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') end
redis.call('HSET', KEYS[1], 'out', 0, 'ack', 0, 'ob', 0, 'rcv', 0, 'dlv', 0, 'ib', 0, 'own', ARGV[1], 'fen', 1,
  'act', '', 'use', 0, 'cf', 0, 'end', '', 'ttl', ARGV[2], 'rel', ARGV[3], 'org', ARGV[4], 'adr', ARGV[5],
  'hdr', ARGV[6], 'dat', ARGV[7], 'rid', rid, 'pos', ARGV[9] or '0', 'hb', ARGV[10] or '')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok', 1}`,
)

/**
 * The heartbeat a connection-opening request for a live session asked for: every later request,
 * on any node, keeps it (a poll's hold time). KEYS: hash. ARGV: hb, ms. Replies 1, or 0 for a
 * session unknown or ended (nothing is written: no key is made without its lifetime).
 */
export const HEARTBEAT = new Script(
  'heartbeat',
  `if redis.call('HGET', KEYS[1], 'end') ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'hb', ARGV[1])
return 1`,
)

/** A session's fields, flat; none for a session unknown, expired or lost (see `lost`). KEYS: hash. */
export const SESSION = withHelpers(
  'session',
  `if lost(KEYS[1]) then return {} end
return redis.call('HGETALL', KEYS[1])`,
)

/**
 * Bind a session made without an Origin to the first that shows up (as in one process).
 * KEYS: hash. ARGV: origin. Replies the origin it is bound to ('' for a session unknown).
 */
export const BIND = new Script(
  'bind',
  `local o = redis.call('HGET', KEYS[1], 'org')
if o == '' then redis.call('HSET', KEYS[1], 'org', ARGV[1]) return ARGV[1] end
return o or ''`,
)

/**
 * Take ownership. KEYS: hash. ARGV: node, the owner the caller found dead ('' for none; the
 * caller itself when it lost its lease and forgot what it owned).
 * Replies ok + fencing token + takenOver + rcv + dlv, or owned + owner.
 */
export const CLAIM = withHelpers(
  'claim',
  `local m = redis.call('HMGET', KEYS[1], 'own', 'fen', 'end', 'cf', 'rcv', 'dlv')
if not m[2] or lost(KEYS[1]) then return {'gone'} end
if m[3] ~= '' then return {'ended', m[3]} end
-- A node that forgot its sessions (it found its own lease lapsed) owns them afresh: a new token.
if m[1] == ARGV[1] and ARGV[2] ~= ARGV[1] then return {'ok', tonumber(m[2]), 0, tonumber(m[5]), tonumber(m[6])} end
if m[1] ~= '' and m[1] ~= ARGV[2] then return {'owned', m[1]} end
local fen = redis.call('HINCRBY', KEYS[1], 'fen', 1)
redis.call('HSET', KEYS[1], 'own', ARGV[1])
-- Taken over: the app heard of it on another node (it was confirmed there), so may hold state.
local taken = 0
if m[4] == '1' then taken = 1 end
return {'ok', fen, taken, tonumber(m[5]), tonumber(m[6])}`,
)

/** Give ownership up (a draining node). KEYS: hash. ARGV: fence. */
export const RELEASE = withHelpers(
  'release',
  `local fen = redis.call('HGET', KEYS[1], 'fen')
if not fen or lost(KEYS[1]) then return {'gone'} end
if fen ~= ARGV[1] then return {'fenced'} end
redis.call('HSET', KEYS[1], 'own', '')
return {'ok'}`,
)

/**
 * The owner's messages for the client. KEYS: hash, out list, inbox. ARGV: fence, maxBytes,
 * maxCount, delivered ('' or the app's delivery cursor to commit with them), channel prefix, sid,
 * the write's id ('' for none), messages... Replies ok + first seq + last seq (+ bytes not
 * acknowledged, when it wrote), or overflow
 * (nothing written). A write tried again with the id of the last one made (its answer was lost
 * when Redis went down) is answered as it was, not made twice: field lop is that id, lof its first seq.
 */
export const APPEND = withHelpers(
  'append',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'end', 'out', 'ob', 'act', 'dlv', 'rcv', 'ib', 'lop', 'lof')
local no = refused(KEYS[1], ARGV[1], m, true)
if no then return no end
local out, ob, n = tonumber(m[3]), tonumber(m[4]), #ARGV - 7
if ARGV[7] ~= '' and m[9] == ARGV[7] then return {'ok', tonumber(m[10]), tonumber(m[10]) + n - 1} end
local bytes = size(ARGV, 8, #ARGV)
if ob + bytes > tonumber(ARGV[2]) or redis.call('LLEN', KEYS[2]) + n > tonumber(ARGV[3]) then
  return fail('overflow', out, ob)
end
if ARGV[4] ~= '' then
  local dlv, k = tonumber(m[6]), math.min(tonumber(ARGV[4]), tonumber(m[7])) - tonumber(m[6])
  if k > 0 then
    local gone = redis.call('LRANGE', KEYS[3], 0, k - 1)
    redis.call('LTRIM', KEYS[3], k, -1)
    redis.call('HSET', KEYS[1], 'dlv', dlv + k, 'ib', tonumber(m[8]) - size(gone, 1, #gone))
  end
end
if n == 0 then return {'ok', out + 1, out} end
push(KEYS[2], ARGV, 8)
if redis.call('LLEN', KEYS[2]) == n then follow(KEYS[1], KEYS[2]) end
redis.call('HSET', KEYS[1], 'out', out + n, 'ob', ob + bytes, 'lop', ARGV[7], 'lof', out + 1)
if m[5] ~= '' then redis.call('PUBLISH', ARGV[5] .. node_of(m[5]), 'w ' .. ARGV[6] .. ' ' .. (out + n)) end
return {'ok', out + 1, out + n, ob + bytes}`,
)

/**
 * The client's cursor. KEYS: hash, out list. ARGV: n, channel prefix, sid. Replies ok + ack + bytes
 * left, or ahead. When it moves, the owner is told with a `d` hint (its `delivered` and `drain`).
 */
export const ACK = withHelpers(
  'ack',
  `local m = redis.call('HMGET', KEYS[1], 'out', 'ack', 'ob', 'own')
if not m[1] or lost(KEYS[1]) then return fail('gone') end
local n, out, ack, ob = tonumber(ARGV[1]), tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
-- A client that has more than was ever sent talks to a state that went back in time.
if n > out then return fail('ahead', out, ack) end
if n <= ack then return {'ok', ack, ob} end
local gone = redis.call('LRANGE', KEYS[2], 0, n - ack - 1)
redis.call('LTRIM', KEYS[2], n - ack, -1)
ob = ob - size(gone, 1, #gone)
redis.call('HSET', KEYS[1], 'ack', n, 'ob', ob)
if m[4] and m[4] ~= '' then redis.call('PUBLISH', ARGV[2] .. m[4], 'd ' .. ARGV[3] .. ' ' .. n .. ' ' .. ob) end
return {'ok', n, ob}`,
)

/**
 * Messages for the client from seq `from`. KEYS: hash, out list. ARGV: from, max.
 * Replies ok + first seq + last seq sent + end + messages.
 */
export const READ = withHelpers(
  'read',
  `local m = redis.call('HMGET', KEYS[1], 'out', 'ack', 'end')
if not m[1] or lost(KEYS[1]) then return fail('gone') end
local out, ack = tonumber(m[1]), tonumber(m[2])
local from = math.max(tonumber(ARGV[1]), ack + 1)
local list = {}
if from <= out then list = redis.call('LRANGE', KEYS[2], from - ack - 1, from - ack - 2 + tonumber(ARGV[2])) end
return {'ok', from, out, m[3], list}`,
)

/**
 * Messages from the client. KEYS: hash, inbox. ARGV: node, first seq, maxBytes, channel prefix,
 * sid, messages... Duplicates (seq <= rcv) are dropped; a gap is refused. Replies ok + rcv +
 * how many of the last messages are new + owner + dlv, or gap + rcv, or overflow.
 */
export const RECORD = withHelpers(
  'record',
  `local m = redis.call('HMGET', KEYS[1], 'rcv', 'ib', 'end', 'own', 'rel', 'cf', 'dlv')
if not m[1] or lost(KEYS[1]) then return fail('gone') end
if m[3] ~= '' then return fail('ended', m[3]) end
local rcv, first, count = tonumber(m[1]), tonumber(ARGV[2]), #ARGV - 5
local reliable = m[5] == '1'
if reliable and first > rcv + 1 and count > 0 then return fail('gap', rcv) end
local skip = 0
if reliable then skip = math.max(0, math.min(count, rcv - first + 1)) end
local n = count - skip
local bytes = size(ARGV, 6 + skip, #ARGV)
if tonumber(m[2]) + bytes > tonumber(ARGV[3]) then return fail('overflow', rcv) end
local wake = m[6] ~= '1'
if n > 0 then
  push(KEYS[2], ARGV, 6 + skip)
  if redis.call('LLEN', KEYS[2]) == n then follow(KEYS[1], KEYS[2]) end
  rcv = rcv + n
  redis.call('HSET', KEYS[1], 'rcv', rcv, 'ib', tonumber(m[2]) + bytes, 'cf', 1)
  wake = true
elseif m[6] ~= '1' then
  redis.call('HSET', KEYS[1], 'cf', 1)
end
if wake and m[4] ~= '' and m[4] ~= ARGV[1] then
  redis.call('PUBLISH', ARGV[4] .. m[4], 'i ' .. ARGV[5] .. ' ' .. rcv)
end
return {'ok', rcv, n, m[4], tonumber(m[7])}`,
)

/**
 * The owner reads what the client sent from seq `from`. KEYS: hash, inbox. ARGV: fence, from,
 * max. Replies ok + first seq + rcv + messages.
 */
export const INBOX = withHelpers(
  'inbox',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'rcv', 'dlv')
local no = refused(KEYS[1], ARGV[1], m)
if no then return no end
local rcv, dlv = tonumber(m[2]), tonumber(m[3])
local from = math.max(tonumber(ARGV[2]), dlv + 1)
local list = {}
if from <= rcv then list = redis.call('LRANGE', KEYS[2], from - dlv - 1, from - dlv - 2 + tonumber(ARGV[3])) end
return {'ok', from, rcv, list}`,
)

/** The app has had everything up to `n`. KEYS: hash, inbox. ARGV: fence, n. Replies ok + dlv. */
export const DELIVERED = withHelpers(
  'delivered',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'rcv', 'dlv', 'ib')
local no = refused(KEYS[1], ARGV[1], m)
if no then return no end
local dlv = tonumber(m[3])
local k = math.min(tonumber(ARGV[2]), tonumber(m[2])) - dlv
if k <= 0 then return {'ok', dlv} end
local gone = redis.call('LRANGE', KEYS[2], 0, k - 1)
redis.call('LTRIM', KEYS[2], k, -1)
redis.call('HSET', KEYS[1], 'dlv', dlv + k, 'ib', tonumber(m[4]) - size(gone, 1, #gone))
return {'ok', dlv + k}`,
)

/**
 * A link of kind `kind` arrived on node `node` (k = 0), or the client chose that kind with u<k>
 * (k > 0), which may come in a POST to another node than the one holding the link: the hash
 * remembers which node holds each kind (field l:kind). KEYS: hash. ARGV: kind, node, k, the
 * active link the caller found on a node whose lease lapsed ('' for none), channel prefix, sid.
 * Replies active + previous + holder, standby + active, or stale + active. The node that lost
 * the active link and the node that gained it (if not the caller) are told with an `a` hint, and
 * the owner, when the kind changed.
 */
export const ACTIVATE = withHelpers(
  'activate',
  `local m = redis.call('HMGET', KEYS[1], 'act', 'use', 'end', 'l:' .. ARGV[1], 'own')
if not m[1] or lost(KEYS[1]) then return fail('gone') end
if m[3] ~= '' then return fail('ended', m[3]) end
local act, k, holder = m[1], tonumber(ARGV[3]), ARGV[2]
if k > 0 then
  if k <= tonumber(m[2]) then return {'stale', act} end
  redis.call('HSET', KEYS[1], 'use', k)
  if m[4] then holder = m[4] end
else
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], ARGV[2])
  if not (act == '' or act == ARGV[4] or string.sub(act, 1, #ARGV[1] + 1) == ARGV[1] .. ' ') then
    return {'standby', act}
  end
end
local mine = ARGV[1] .. ' ' .. holder
redis.call('HSET', KEYS[1], 'act', mine)
if act ~= '' and act ~= mine then redis.call('PUBLISH', ARGV[5] .. node_of(act), 'a ' .. ARGV[6] .. ' ' .. mine) end
if holder ~= ARGV[2] and act ~= mine then redis.call('PUBLISH', ARGV[5] .. holder, 'a ' .. ARGV[6] .. ' ' .. mine) end
-- The owner, on a node of its own, hears of a new kind (its session's \`transport\`).
local own, was = m[5] or '', string.match(act, '^(%S+)') or ''
if own ~= '' and own ~= holder and own ~= ARGV[2] and own ~= node_of(act) and was ~= ARGV[1] then
  redis.call('PUBLISH', ARGV[5] .. own, 'a ' .. ARGV[6] .. ' ' .. mine)
end
return {'active', act, holder}`,
)

/** The link of `kind` on `node` went; if it was the active one, none is now. KEYS: hash. ARGV: kind, node. */
export const DETACH = new Script(
  'detach',
  `local m = redis.call('HMGET', KEYS[1], 'act', 'l:' .. ARGV[1])
if m[2] == ARGV[2] then redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1]) end
if m[1] == ARGV[1] .. ' ' .. ARGV[2] then redis.call('HSET', KEYS[1], 'act', '') return {'ok', 1} end
return {'ok', 0}`,
)

/**
 * End the session. KEYS: hash, out list, inbox, rooms. ARGV: fence ('' when the client closed),
 * code, reason, keep the unacknowledged messages as last words (1/0), ttl, channel prefix, sid.
 * Replies ok + the rooms it was in (the caller leaves them: their sets live in other slots).
 */
export const CLOSE = withHelpers(
  'close',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'end', 'own', 'act', 'adr')
if not m[1] or lost(KEYS[1]) then return fail('gone') end
if m[2] ~= '' then return fail('ended', m[2]) end
if ARGV[1] ~= '' and m[1] ~= ARGV[1] then return fail('fenced') end
redis.call('HSET', KEYS[1], 'end', ARGV[2] .. ' ' .. ARGV[3])
redis.call('DEL', KEYS[3])
if ARGV[4] ~= '1' then redis.call('DEL', KEYS[2]) end
local rooms = redis.call('SMEMBERS', KEYS[4])
redis.call('DEL', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local told = {}
for _, node in ipairs({m[3], node_of(m[4]) or ''}) do
  if node ~= '' and not told[node] then
    told[node] = true
    redis.call('PUBLISH', ARGV[6] .. node, 'e ' .. ARGV[7])
  end
end
return {'ok', rooms, m[5]}`,
)

/**
 * This node holds a link of each session (docs/cluster-design.md §3 "TTL"): its keys live
 * `holdTtl` from now, however long ago it was touched, until the last node holding it lets go.
 * KEYS: per session its hash, out list, inbox and rooms. ARGV: node, holdTtl ms. Replies per
 * session 0 (ended or gone: not held), or its address (its census entry lives as long).
 */
export const HOLD = withHelpers(
  'hold',
  `local out = {}
for j = 1, #KEYS, 4 do
  local m = redis.call('HMGET', KEYS[j], 'end', 'adr')
  if not m[1] or m[1] ~= '' or lost(KEYS[j]) then table.insert(out, 0)
  else
    if redis.call('HSETNX', KEYS[j], 'h:' .. ARGV[1], 1) == 1 then redis.call('HINCRBY', KEYS[j], 'hn', 1) end
    for k = j, j + 3 do redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
    table.insert(out, m[2])
  end
end
return out`,
)

/**
 * Node `node` holds no link of these sessions any more (its last one went, or the node died and a
 * sweep lets go for it). A session no node holds now expires as its client left: its keys live the
 * ms given, and its owner hears so (an `x` hint). KEYS: per session its hash, out list, inbox and
 * rooms. ARGV: node, channel prefix, then per session its sid and ms. Replies per session 0 (still
 * held elsewhere, ended, gone, or not held by that node), or its address (its census entry expires
 * with it).
 */
export const LET_GO = new Script(
  'let-go',
  `local out = {}
for j = 1, #KEYS, 4 do
  local sid, ms = ARGV[(j + 3) / 2 + 1], ARGV[(j + 3) / 2 + 2]
  local m = redis.call('HMGET', KEYS[j], 'end', 'adr', 'own')
  local last = false
  if redis.call('HDEL', KEYS[j], 'h:' .. ARGV[1]) == 1 then last = redis.call('HINCRBY', KEYS[j], 'hn', -1) <= 0 end
  if last and m[1] == '' then
    redis.call('HSET', KEYS[j], 'hn', 0)
    for k = j, j + 3 do redis.call('PEXPIRE', KEYS[k], ms) end
    if m[3] ~= '' then redis.call('PUBLISH', ARGV[2] .. m[3], 'x ' .. sid .. ' ' .. ms) end
    table.insert(out, m[2])
  else table.insert(out, 0) end
end
return out`,
)

/**
 * Renew the keys of sessions held here (rarely: every `holdTtl` / 3), or only look at them, several
 * in one script. KEYS: per session its hash, out list, inbox and rooms. ARGV: node, holdTtl ms,
 * then per session 1 to renew its keys (only if this node holds it) or 0 to look only. Replies per
 * session 0 (ended or gone), or its address, the last seq sent, the last seq received (a node that
 * has not written or handed that much reads the log or the inbox: a hint it missed), how many
 * nodes hold it, the ms its hash has left, and 1 if renewed (its census entry is renewed with it).
 */
export const TOUCH = withHelpers(
  'touch',
  `local out = {}
for j = 1, #KEYS, 4 do
  local m = redis.call('HMGET', KEYS[j], 'end', 'adr', 'out', 'rcv', 'hn', 'h:' .. ARGV[1])
  if not m[1] or m[1] ~= '' or lost(KEYS[j]) then table.insert(out, 0)
  else
    local renewed = 0
    if ARGV[(j + 3) / 4 + 2] == '1' and m[6] then
      for k = j, j + 3 do redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
      renewed = 1
    end
    table.insert(out, {m[2], m[3] or '0', m[4] or '0', m[5] or '0', redis.call('PTTL', KEYS[j]), renewed})
  end
end
return out`,
)

/**
 * The session's side of joining or leaving a room, for a client before room logs (the room's set of
 * members, in the room's slot, is changed apart: the fan-out reads it, then asks each member's
 * own rooms). KEYS: hash, session's rooms. ARGV: fence, room, 1 to join / 0 to leave.
 */
export const MEMBER = withHelpers(
  'member',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'end')
local no = refused(KEYS[1], ARGV[1], m, true)
if no then return no end
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[2])
  follow(KEYS[1], KEYS[2])
else
  redis.call('SREM', KEYS[2], ARGV[2])
end
return {'ok'}`,
)

/**
 * The session's side of joining or leaving a room, for a session whose client holds its room
 * positions (the room's side is ROOM_MEMBER, in the room's slot: no script spans two). KEYS: hash,
 * session's rooms, its join offsets (room to offset). ARGV: fence, room, sid, 1 to join / 0 to
 * leave, the join offset, the hint channel prefix. Tells the node of its active link that its
 * rooms changed (an `r` hint).
 */
export const SESSION_ROOM = withHelpers(
  'session-room',
  `local m = redis.call('HMGET', KEYS[1], 'fen', 'end', 'act')
local no = refused(KEYS[1], ARGV[1], m, true)
if no then return no end
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[2], ARGV[2])
  follow(KEYS[1], KEYS[2])
  if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[5]) == 1 then follow(KEYS[1], KEYS[3]) end
else
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
end
local node = node_of(m[3] or '')
if node then redis.call('PUBLISH', ARGV[6] .. node, 'r ' .. ARGV[3]) end
return {'ok'}`,
)

/**
 * Fan a room message out into the logs of the members named (some of the room, all in one hash
 * slot on a Redis Cluster, so that a script keeps to one slot and Redis is never held long by
 * one), each once: a member whose own rooms no longer hold the room is skipped. KEYS: the first
 * member's hash (it routes the script to the members' slot; the others' keys are in that slot
 * too). ARGV: key prefix, room, maxBytes, maxCount, channel prefix, overflow reason, number of
 * messages k, k messages, sids... A member past its bounds is ended with 3900 (BUFFER_OVERFLOW).
 * Wakes each active link's node once, naming its sessions. Replies delivered count, the sids
 * ended for overflow, and those gone or ended (the caller takes both out of the room's set, in
 * the room's slot).
 */
export const FANOUT = withHelpers(
  'fanout',
  `local n = tonumber(ARGV[7])
local bytes = size(ARGV, 8, 7 + n)
local wake, over, gone, delivered = {}, {}, {}, 0
for j = 8 + n, #ARGV do
  local sid = ARGV[j]
  local h = ARGV[1] .. '{' .. sid .. '}'
  local m = redis.call('HMGET', h, 'out', 'ob', 'end', 'act', 'own')
  if not m[1] or m[3] ~= '' or lost(h) then
    gone[#gone + 1] = sid
  elseif redis.call('SISMEMBER', h .. ':r', ARGV[2]) == 1 then
    local o = h .. ':o'
    local len = redis.call('LLEN', o)
    if tonumber(m[2]) + bytes > tonumber(ARGV[3]) or len + n > tonumber(ARGV[4]) then
      redis.call('HSET', h, 'end', '3900 ' .. ARGV[6])
      over[#over + 1] = sid
      for _, node in ipairs({m[5], node_of(m[4]) or ''}) do
        if node ~= '' then redis.call('PUBLISH', ARGV[5] .. node, 'e ' .. sid) end
      end
    else
      push(o, ARGV, 8, 7 + n)
      if len == 0 then follow(h, o) end
      redis.call('HSET', h, 'out', tonumber(m[1]) + n, 'ob', tonumber(m[2]) + bytes)
      delivered = delivered + 1
      local node = node_of(m[4])
      -- A table per node, joined once: growing one string per member copies it every time.
      if node then
        local list = wake[node] or {'w'}
        list[#list + 1] = sid .. ' ' .. (tonumber(m[1]) + n)
        wake[node] = list
      end
    end
  end
end
for node, list in pairs(wake) do redis.call('PUBLISH', ARGV[5] .. node, table.concat(list, ' ')) end
return {delivered, over, gone}`,
)

function withHelpers(name: string, body: string): Script {
  return new Script(name, COMMON + body)
}
