-- A session's fields.
-- KEYS: hash
-- Replies its fields and values, flat; none for a session unknown, expired or lost (see `lost`).
local hash = KEYS[1]

if lost(hash) then return {} end
return redis.call('HGETALL', hash)
