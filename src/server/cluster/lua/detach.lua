-- The link of `kind` on `node` went; if it was the active one, none is now.
-- KEYS: hash
-- ARGV: kind, node
-- Replies {'ok', 1} when it was the active link, {'ok', 0} otherwise.
local hash = KEYS[1]
local kind, node = ARGV[1], ARGV[2]

local m = redis.call('HMGET', hash, 'active', 'link:' .. kind)
if m[2] == node then redis.call('HDEL', hash, 'link:' .. kind) end
if m[1] == kind .. ' ' .. node then redis.call('HSET', hash, 'active', '') return {'ok', 1} end
return {'ok', 0}
