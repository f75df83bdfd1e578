-- Renew sessions still in use, each for its own ms (a held session's safety TTL, or what one no
-- node holds has left). Only sessions counted in are renewed (XX): one that ended meanwhile stays
-- out. Each address set's own TTL is extended once per call to its longest entry, however many of
-- its sessions are in it (10,000 from one address behind a NAT).
-- KEYS: all (the cluster's set), then one address set per session
-- ARGV: per session its sid and ms, in the order of their address sets
-- Replies how many it renewed.
local all = KEYS[1]
local FIRST = 2 -- the first session's address set in KEYS

local longest = {}
for i = FIRST, #KEYS do
  local address = KEYS[i]
  local sid, ms = ARGV[2 * i - 3], tonumber(ARGV[2 * i - 2])
  redis.call('ZADD', all, 'XX', now + ms, sid)
  redis.call('ZADD', address, 'XX', now + ms, sid)
  if ms > (longest[address] or 0) then longest[address] = ms end
end
for key, ms in pairs(longest) do extend(key, ms) end
return #KEYS - 1
