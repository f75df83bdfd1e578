-- The session's side of joining or leaving a room, for a client before room logs (the room's set
-- of members, in the room's slot, is changed apart: the fan-out reads it, then asks each member's
-- own rooms).
-- KEYS: hash, rooms (the session's, a set)
-- ARGV: fence, room, join (1 to join, 0 to leave)
-- Replies {'ok'}, or a refusal (`refused`).
local hash, rooms = KEYS[1], KEYS[2]
local fence, room, join = ARGV[1], ARGV[2], ARGV[3]

local m = redis.call('HMGET', hash, 'fence', 'ended')
local no = refused(hash, fence, m, true)
if no then return no end
if join == '1' then
  redis.call('SADD', rooms, room)
  follow(hash, rooms)
else
  redis.call('SREM', rooms, room)
end
return {'ok'}
