-- Messages from the client. Duplicates (seq <= received) are dropped; a gap is refused.
-- KEYS: hash, inbox (list)
-- ARGV: node (the caller), first (the first message's seq), max_bytes, channel (hint prefix), sid,
--       messages...
-- Replies {'ok', received, how many of the last messages are new, owner, delivered}, {'gap', received},
-- {'overflow', received}, {'ended', why} or {'gone'}.
local hash, inbox = KEYS[1], KEYS[2]
local node, first, max_bytes, channel, sid = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local FIRST = 6 -- the first message's slot in ARGV

local m = redis.call('HMGET', hash, 'received', 'inboxBytes', 'ended', 'owner', 'reliable', 'confirmed', 'delivered')
if not m[1] or lost(hash) then return fail('gone') end
local rcv, ib, ended, own, reliable, confirmed, dlv =
  tonumber(m[1]), tonumber(m[2]), m[3], m[4], m[5] == '1', m[6] == '1', tonumber(m[7])
if ended ~= '' then return fail('ended', ended) end
local count = #ARGV - FIRST + 1
if reliable and first > rcv + 1 and count > 0 then return fail('gap', rcv) end
local skip = 0
if reliable then skip = math.max(0, math.min(count, rcv - first + 1)) end
local n = count - skip
local bytes = size(ARGV, FIRST + skip, #ARGV)
if ib + bytes > max_bytes then return fail('overflow', rcv) end
local wake = not confirmed
if n > 0 then
  push(inbox, ARGV, FIRST + skip)
  if redis.call('LLEN', inbox) == n then follow(hash, inbox) end
  rcv = rcv + n
  redis.call('HSET', hash, 'received', rcv, 'inboxBytes', ib + bytes, 'confirmed', 1)
  wake = true
elseif not confirmed then
  redis.call('HSET', hash, 'confirmed', 1)
end
if wake and own ~= '' and own ~= node then
  redis.call('PUBLISH', channel .. own, 'i ' .. sid .. ' ' .. rcv)
end
return {'ok', rcv, n, own, dlv}
