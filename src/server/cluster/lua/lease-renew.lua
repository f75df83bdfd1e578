-- Renew a node's lease: a lease once lapsed is never renewed by its old holder (who then joins
-- again as a new node, its old one staying dead).
-- KEYS: node (its liveness key)
-- ARGV: token (what it was taken with), lease (ms)
-- Replies 1, or 0 when the key is gone or holds another token.
local node = KEYS[1]
local token, lease = ARGV[1], ARGV[2]

if redis.call('GET', node) ~= token then return 0 end
redis.call('PEXPIRE', node, lease)
return 1
