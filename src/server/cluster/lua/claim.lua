-- Take ownership.
-- KEYS: hash
-- ARGV: node, dead (the owner the caller found dead: '' for none; the caller itself when it lost
--       its lease and forgot what it owned)
-- Replies {'ok', fence, taken_over (1/0), received, delivered}, {'owned', owner}, {'ended', why} or {'gone'}.
local hash = KEYS[1]
local node, dead = ARGV[1], ARGV[2]

local m = redis.call('HMGET', hash, 'owner', 'fence', 'ended', 'confirmed', 'received', 'delivered')
local own, fen, ended, confirmed, rcv, dlv = m[1], m[2], m[3], m[4], m[5], m[6]
if not fen or lost(hash) then return {'gone'} end
if ended ~= '' then return {'ended', ended} end
-- A node that forgot its sessions (it found its own lease lapsed) owns them afresh: a new token.
if own == node and dead ~= node then return {'ok', tonumber(fen), 0, tonumber(rcv), tonumber(dlv)} end
if own ~= '' and own ~= dead then return {'owned', own} end
local fence = redis.call('HINCRBY', hash, 'fence', 1)
redis.call('HSET', hash, 'owner', node)
-- Taken over: the app heard of it on another node (it was confirmed there), so may hold state.
local taken = 0
if confirmed == '1' then taken = 1 end
return {'ok', fence, taken, tonumber(rcv), tonumber(dlv)}
