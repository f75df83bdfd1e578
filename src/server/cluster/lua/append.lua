-- The owner's messages for the client, and the app's delivery cursor they answer.
-- KEYS: hash, out (list), inbox (list)
-- ARGV: fence, max_bytes, max_count, delivered ('' or the app's delivery cursor to commit with
--       them), channel (hint prefix), sid, op (the write's id, '' for none), messages...
-- Replies {'ok', first, last, bytes} when it wrote, {'ok', first, last} when there was nothing to
-- write or it had been written, {'overflow', sent, sentBytes} (nothing written), or a refusal (`refused`).
-- A write tried again with the id of the last one made (its answer was lost when Redis went down)
-- is answered as it was, not made twice: field lastAppend is that id, lastFirst its first seq.
local hash, outgoing, inbox = KEYS[1], KEYS[2], KEYS[3]
local fence, max_bytes, max_count, delivered, channel, sid, op =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local FIRST = 8 -- the first message's slot in ARGV

local m = redis.call('HMGET', hash, 'fence', 'ended', 'sent', 'sentBytes', 'active', 'delivered', 'received',
  'inboxBytes', 'lastAppend', 'lastFirst')
local no = refused(hash, fence, m, true)
if no then return no end
local out, ob, act, dlv, rcv, ib, lop, lof =
  tonumber(m[3]), tonumber(m[4]), m[5], tonumber(m[6]), tonumber(m[7]), tonumber(m[8]), m[9], m[10]
local n = #ARGV - FIRST + 1
if op ~= '' and lop == op then return {'ok', tonumber(lof), tonumber(lof) + n - 1} end
local bytes = size(ARGV, FIRST, #ARGV)
if ob + bytes > max_bytes or redis.call('LLEN', outgoing) + n > max_count then
  return fail('overflow', out, ob)
end
if delivered ~= '' then
  local k = math.min(tonumber(delivered), rcv) - dlv
  if k > 0 then
    local gone = redis.call('LRANGE', inbox, 0, k - 1)
    redis.call('LTRIM', inbox, k, -1)
    redis.call('HSET', hash, 'delivered', dlv + k, 'inboxBytes', ib - size(gone, 1, #gone))
  end
end
if n == 0 then return {'ok', out + 1, out} end
push(outgoing, ARGV, FIRST)
if redis.call('LLEN', outgoing) == n then follow(hash, outgoing) end
redis.call('HSET', hash, 'sent', out + n, 'sentBytes', ob + bytes, 'lastAppend', op, 'lastFirst', out + 1)
if act ~= '' then redis.call('PUBLISH', channel .. node_of(act), 'w ' .. sid .. ' ' .. (out + n)) end
return {'ok', out + 1, out + n, ob + bytes}
