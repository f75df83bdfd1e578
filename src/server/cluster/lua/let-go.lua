-- Node `node` holds no link of these sessions any more (its last one went, or the node died and a
-- sweep lets go for it). A session no node holds now expires as its client left: its keys live the
-- ms given, and its owner hears so (an `x` hint).
-- KEYS: per session its hash, out (list), inbox (list) and rooms (set)
-- ARGV: node, channel (hint prefix), then per session its sid and ms
-- Replies per session 0 (still held elsewhere, ended, gone, or not held by that node), or its
-- address (its census entry expires with it).
local node, channel = ARGV[1], ARGV[2]
local PER_SESSION = 4 -- keys
local FIRST = 3 -- the first session's sid in ARGV; its ms follows

local out = {}
for j = 1, #KEYS, PER_SESSION do
  local hash = KEYS[j]
  local at = FIRST + 2 * (j - 1) / PER_SESSION
  local sid, ms = ARGV[at], ARGV[at + 1]
  local m = redis.call('HMGET', hash, 'ended', 'address', 'owner')
  local ended, address, own = m[1], m[2], m[3]
  local last = false
  if redis.call('HDEL', hash, 'held:' .. node) == 1 then last = redis.call('HINCRBY', hash, 'holders', -1) <= 0 end
  if last and ended == '' then
    redis.call('HSET', hash, 'holders', 0)
    for k = j, j + PER_SESSION - 1 do redis.call('PEXPIRE', KEYS[k], ms) end
    if own ~= '' then redis.call('PUBLISH', channel .. own, 'x ' .. sid .. ' ' .. ms) end
    table.insert(out, address)
  else table.insert(out, 0) end
end
return out
