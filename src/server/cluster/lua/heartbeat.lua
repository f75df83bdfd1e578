-- The heartbeat a connection-opening request for a live session asked for: every later request,
-- on any node, keeps it (a poll's hold time).
-- KEYS: hash
-- ARGV: hb (ms)
-- Replies 1, or 0 for a session unknown or ended (nothing is written: no key is made without its lifetime).
local hash = KEYS[1]
local hb = ARGV[1]

if redis.call('HGET', hash, 'ended') ~= '' then return 0 end
redis.call('HSET', hash, 'heartbeat', hb)
return 1
