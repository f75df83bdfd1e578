-- Renew sessions still in use. Only sessions counted in are renewed (XX): one that ended
-- meanwhile stays out. Each address set's own TTL is renewed once per call, however many of its
-- sessions are in it (10,000 from one address behind a NAT).
-- KEYS: all (the cluster's set), then one address set per session
-- ARGV: ttl (ms), then the sessions' ids in the order of their address sets
-- Replies how many it renewed.
local all = KEYS[1]
local ttl = tonumber(ARGV[1])

local expires = now + ttl
local renewed = {}
for i = 2, #ARGV do
  local sid, address = ARGV[i], KEYS[i]
  redis.call('ZADD', all, 'XX', expires, sid)
  redis.call('ZADD', address, 'XX', expires, sid)
  if not renewed[address] then
    renewed[address] = true
    redis.call('PEXPIRE', address, ttl)
  end
end
return #ARGV - 1
