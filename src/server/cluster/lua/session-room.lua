-- The session's side of joining or leaving a room, for a session whose client holds its room
-- positions (the room's side is room-member.lua, in the room's slot: no script spans two). Tells
-- the node of its active link that its rooms changed (an `r` hint).
-- KEYS: hash, rooms (the session's, a set), offsets (room to the offset it joined at, a hash)
-- ARGV: fence, room, sid, join (1 to join, 0 to leave), offset (where it joins), channel (hint prefix)
-- Replies {'ok'}, or a refusal (`refused`).
local hash, rooms, offsets = KEYS[1], KEYS[2], KEYS[3]
local fence, room, sid, join, offset, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local m = redis.call('HMGET', hash, 'fence', 'ended', 'active')
local no = refused(hash, fence, m, true)
if no then return no end
if join == '1' then
  redis.call('SADD', rooms, room)
  follow(hash, rooms)
  if redis.call('HSETNX', offsets, room, offset) == 1 then follow(hash, offsets) end
else
  redis.call('SREM', rooms, room)
  redis.call('HDEL', offsets, room)
end
local node = node_of(m[3] or '')
if node then redis.call('PUBLISH', channel .. node, 'r ' .. sid) end
return {'ok'}
