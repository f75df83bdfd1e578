-- The client's cursor: trims what it covers. When it moves, the owner is told with a `d` hint
-- (its `delivered` and `drain`).
-- KEYS: hash, out (list)
-- ARGV: n (the client has every message up to it), channel (hint prefix), sid
-- Replies {'ok', ack, bytes left}, {'ahead', out, ack} (the client has more than was ever sent:
-- the stored state went back in time) or {'gone'}.
local hash, outgoing = KEYS[1], KEYS[2]
local n, channel, sid = tonumber(ARGV[1]), ARGV[2], ARGV[3]

local m = redis.call('HMGET', hash, 'sent', 'acked', 'sentBytes', 'owner')
if not m[1] or lost(hash) then return fail('gone') end
local out, ack, ob, own = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), m[4]
if n > out then return fail('ahead', out, ack) end
if n <= ack then return {'ok', ack, ob} end
local gone = redis.call('LRANGE', outgoing, 0, n - ack - 1)
redis.call('LTRIM', outgoing, n - ack, -1)
ob = ob - size(gone, 1, #gone)
redis.call('HSET', hash, 'acked', n, 'sentBytes', ob)
if own and own ~= '' then redis.call('PUBLISH', channel .. own, 'd ' .. sid .. ' ' .. n .. ' ' .. ob) end
return {'ok', n, ob}
