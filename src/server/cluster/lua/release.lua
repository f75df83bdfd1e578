-- Give ownership up (a draining node): the next claim needs no lease to lapse.
-- KEYS: hash
-- ARGV: fence
-- Replies {'ok'}, {'fenced'} or {'gone'}.
local hash = KEYS[1]
local fence = ARGV[1]

local fen = redis.call('HGET', hash, 'fence')
if not fen or lost(hash) then return {'gone'} end
if fen ~= fence then return {'fenced'} end
redis.call('HSET', hash, 'owner', '')
return {'ok'}
