-- Messages for the client from seq `from`.
-- KEYS: hash, out (list)
-- ARGV: from, max
-- Replies {'ok', first seq, last seq sent, end, messages} or {'gone'}.
local hash, outgoing = KEYS[1], KEYS[2]
local from, max = tonumber(ARGV[1]), tonumber(ARGV[2])

local m = redis.call('HMGET', hash, 'sent', 'acked', 'ended')
if not m[1] or lost(hash) then return fail('gone') end
local out, ack, ended = tonumber(m[1]), tonumber(m[2]), m[3]
from = math.max(from, ack + 1)
local list = {}
if from <= out then list = redis.call('LRANGE', outgoing, from - ack - 1, from - ack - 2 + max) end
return {'ok', from, out, ended, list}
