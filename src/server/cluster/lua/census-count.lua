-- Sessions in a count that have not expired.
-- KEYS: count (a set of the census)
-- Replies how many.
local count = KEYS[1]

return redis.call('ZCOUNT', count, '(' .. now, '+inf')
