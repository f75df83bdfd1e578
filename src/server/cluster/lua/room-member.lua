-- The room's side of a member whose client holds its positions joining or leaving. All in the
-- room's slot.
-- KEYS: head (the room's hash), members (the room's such members, a set)
-- ARGV: sid, join (1 to join, 0 to leave)
-- Replies the room's next offset: where a member joining starts.
local head, members = KEYS[1], KEYS[2]
local sid, join = ARGV[1], ARGV[2]

if join == '1' then redis.call('SADD', members, sid) else redis.call('SREM', members, sid) end
return whole((next_of(head)))
