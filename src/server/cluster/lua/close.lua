-- End the session: keep its close (and, as last words, what the client has not acknowledged) for
-- `ttl`, drop the rest, and tell its owner and the node of its active link.
-- KEYS: hash, out (list), inbox (list), rooms (set)
-- ARGV: fence ('' when the client closed), code, reason, keep (1: the unacknowledged messages stay
--       as last words), ttl, channel (hint prefix), sid
-- Replies {'ok', the rooms it was in, its address} (the caller leaves them: their sets live in
-- other slots), {'ended', why}, {'fenced'} or {'gone'}.
local hash, outgoing, inbox, rooms = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fence, code, reason, keep, ttl, channel, sid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local m = redis.call('HMGET', hash, 'fence', 'ended', 'owner', 'active', 'address')
local fen, ended, own, act, address = m[1], m[2], m[3], m[4], m[5]
if not fen or lost(hash) then return fail('gone') end
if ended ~= '' then return fail('ended', ended) end
if fence ~= '' and fen ~= fence then return fail('fenced') end
redis.call('HSET', hash, 'ended', code .. ' ' .. reason)
redis.call('DEL', inbox)
if keep ~= '1' then redis.call('DEL', outgoing) end
local was_in = redis.call('SMEMBERS', rooms)
redis.call('DEL', rooms)
redis.call('PEXPIRE', hash, ttl)
redis.call('PEXPIRE', outgoing, ttl)
local told = {}
for _, node in ipairs({own, node_of(act) or ''}) do
  if node ~= '' and not told[node] then
    told[node] = true
    redis.call('PUBLISH', channel .. node, 'e ' .. sid)
  end
end
return {'ok', was_in, address}
