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
redis.call('HSET', hash, 'out', 0, 'ack', 0, 'ob', 0, 'rcv', 0, 'dlv', 0, 'ib', 0, 'own', node, 'fen', 1,
  'act', '', 'use', 0, 'cf', 0, 'end', '', 'ttl', ttl, 'rel', reliable, 'org', origin, 'adr', address,
  'hdr', headers, 'dat', data, 'rid', rid, 'pos', positions or '0', 'hb', hb or '')
redis.call('PEXPIRE', hash, ttl)
return {'ok', 1}
