-- A session ended: it counts no more.
-- KEYS: all (the cluster's set), address (the address's set)
-- ARGV: sid
-- Replies 1.
local all, address = KEYS[1], KEYS[2]
local sid = ARGV[1]

redis.call('ZREM', all, sid)
redis.call('ZREM', address, sid)
return 1
