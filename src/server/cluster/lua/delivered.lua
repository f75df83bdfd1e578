-- The app has had every message from the client up to `n`: trims the inbox.
-- KEYS: hash, inbox (list)
-- ARGV: fence, n
-- Replies {'ok', delivered}, or a refusal (`refused`).
local hash, inbox = KEYS[1], KEYS[2]
local fence, n = ARGV[1], tonumber(ARGV[2])

local m = redis.call('HMGET', hash, 'fence', 'received', 'delivered', 'inboxBytes')
local no = refused(hash, fence, m)
if no then return no end
local rcv, dlv, ib = tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
local k = math.min(n, rcv) - dlv
if k <= 0 then return {'ok', dlv} end
local gone = redis.call('LRANGE', inbox, 0, k - 1)
redis.call('LTRIM', inbox, k, -1)
redis.call('HSET', hash, 'delivered', dlv + k, 'inboxBytes', ib - size(gone, 1, #gone))
return {'ok', dlv + k}
