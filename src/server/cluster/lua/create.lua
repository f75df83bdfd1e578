-- Make a session, owned by the node that made it, fencing token 1.
-- KEYS: hash
-- ARGV: node, ttl, reliable, origin, address, headers, data, durable (1/0), positions (1: the client
--       holds its room positions, PROTOCOL.md §6.5), hb (the heartbeat its opening request asked for, ms)
-- Replies {'ok', 1}, or {'exists'}.
local hash = KEYS[1]
local node, ttl, reliable, origin, address, headers, data, durable, positions, hb =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]

if redis.call('EXISTS', hash) == 1 then return {'exists'} end
local rid = ''
if durable ~= '1' then rid = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') end
redis.call('HSET', hash, 'sent', 0, 'acked', 0, 'sentBytes', 0, 'received', 0, 'delivered', 0, 'inboxBytes', 0,
  'owner', node, 'fence', 1, 'active', '', 'uses', 0, 'confirmed', 0, 'ended', '', 'ttl', ttl, 'reliable', reliable,
  'origin', origin, 'address', address, 'headers', headers, 'data', data, 'runId', rid,
  'positions', positions or '0', 'heartbeat', hb or '')
redis.call('PEXPIRE', hash, ttl)
return {'ok', 1}
