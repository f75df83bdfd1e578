-- Count a new session in, if both counts have room.
-- KEYS: all (the cluster's set), address (the address's set)
-- ARGV: sid, ttl (ms), max (sessions in all), per (sessions per address; -1: no limit)
-- Replies 'ok', 'full' or 'address'.
local all, address = KEYS[1], KEYS[2]
local sid, ttl, max, per = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

redis.call('ZREMRANGEBYSCORE', all, '-inf', now)
redis.call('ZREMRANGEBYSCORE', address, '-inf', now)
if max >= 0 and redis.call('ZCARD', all) >= max then return 'full' end
if per >= 0 and redis.call('ZCARD', address) >= per then return 'address' end
local expires = now + ttl
redis.call('ZADD', all, expires, sid)
redis.call('ZADD', address, expires, sid)
extend(address, ttl)
return 'ok'
