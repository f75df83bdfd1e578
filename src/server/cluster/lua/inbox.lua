-- The owner reads what the client sent from seq `from`.
-- KEYS: hash, inbox (list)
-- ARGV: fence, from, max
-- Replies {'ok', first seq, received, messages}, or a refusal (`refused`).
local hash, inbox = KEYS[1], KEYS[2]
local fence, from, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local m = redis.call('HMGET', hash, 'fence', 'received', 'delivered')
local no = refused(hash, fence, m)
if no then return no end
local rcv, dlv = tonumber(m[2]), tonumber(m[3])
from = math.max(from, dlv + 1)
local list = {}
if from <= rcv then list = redis.call('LRANGE', inbox, from - dlv - 1, from - dlv - 2 + max) end
return {'ok', from, rcv, list}
