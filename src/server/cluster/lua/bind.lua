-- Bind a session made without an Origin to the first that shows up (as in one process).
-- KEYS: hash
-- ARGV: origin
-- Replies the origin it is bound to ('' for a session unknown).
local hash = KEYS[1]
local origin = ARGV[1]

local o = redis.call('HGET', hash, 'origin')
if o == '' then redis.call('HSET', hash, 'origin', origin) return origin end
return o or ''
