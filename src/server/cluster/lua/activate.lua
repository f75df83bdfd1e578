-- A link of kind `kind` arrived on node `node` (k = 0), or the client chose that kind with u<k>
-- (k > 0), which may come in a POST to another node than the one holding the link: the hash
-- remembers which node holds each kind (field l:<kind>). The node that lost the active link and
-- the node that gained it (if not the caller) are told with an `a` hint, and the owner, when the
-- kind changed.
-- KEYS: hash
-- ARGV: kind, node (the caller), k, dead_active (the active link the caller found on a node whose
--       lease lapsed: '' for none), channel (hint prefix), sid
-- Replies {'active', previous, holder}, {'standby', active}, {'stale', active}, {'ended', why}
-- or {'gone'}.
local hash = KEYS[1]
local kind, node, k, dead_active, channel, sid = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]

local m = redis.call('HMGET', hash, 'active', 'uses', 'ended', 'link:' .. kind, 'owner')
if not m[1] or lost(hash) then return fail('gone') end
local act, use, ended, kind_holder, own = m[1], tonumber(m[2]), m[3], m[4], m[5] or ''
if ended ~= '' then return fail('ended', ended) end
local holder = node
if k > 0 then
  if k <= use then return {'stale', act} end
  redis.call('HSET', hash, 'uses', k)
  if kind_holder then holder = kind_holder end
else
  redis.call('HSET', hash, 'link:' .. kind, node)
  if not (act == '' or act == dead_active or string.sub(act, 1, #kind + 1) == kind .. ' ') then
    return {'standby', act}
  end
end
local mine = kind .. ' ' .. holder
redis.call('HSET', hash, 'active', mine)
if act ~= '' and act ~= mine then redis.call('PUBLISH', channel .. node_of(act), 'a ' .. sid .. ' ' .. mine) end
if holder ~= node and act ~= mine then redis.call('PUBLISH', channel .. holder, 'a ' .. sid .. ' ' .. mine) end
-- The owner, on a node of its own, hears of a new kind (its session's `transport`).
local was = string.match(act, '^(%S+)') or ''
if own ~= '' and own ~= holder and own ~= node and own ~= node_of(act) and was ~= kind then
  redis.call('PUBLISH', channel .. own, 'a ' .. sid .. ' ' .. mine)
end
return {'active', act, holder}
