-- This node holds a link of each session (docs/cluster-design.md §3 "TTL"): its keys live
-- `hold_ttl` from now, however long ago it was touched, until the last node holding it lets go.
-- KEYS: per session its hash, out (list), inbox (list) and rooms (set)
-- ARGV: node, hold_ttl (ms)
-- Replies per session 0 (ended or gone: not held), or its address (its census entry lives as long).
local node, hold_ttl = ARGV[1], ARGV[2]
local PER_SESSION = 4 -- keys

local out = {}
for j = 1, #KEYS, PER_SESSION do
  local hash = KEYS[j]
  local m = redis.call('HMGET', hash, 'ended', 'address')
  local ended, address = m[1], m[2]
  if not ended or ended ~= '' or lost(hash) then table.insert(out, 0)
  else
    if redis.call('HSETNX', hash, 'held:' .. node, 1) == 1 then redis.call('HINCRBY', hash, 'holders', 1) end
    for k = j, j + PER_SESSION - 1 do redis.call('PEXPIRE', KEYS[k], hold_ttl) end
    table.insert(out, address)
  end
end
return out
