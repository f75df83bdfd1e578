-- Append to a room. Each message gets the next offset, is added with Redis' time, and is published
-- as `<offset> <packed>`; then the stream is trimmed to `size` and, once its oldest entry is older
-- than `age` and a step (AGE_STEPS), of the entries older than `age`, a hundred at most per call.
-- KEYS: head (the room's hash), stream
-- ARGV: size, age (ms), channel, how ('s' to publish with SPUBLISH, on a Redis Cluster: the
--       channel is in the room's slot; 'p' with PUBLISH), then per message its latest-value key
--       ('-' none, '+<key>') and the packed message
-- Replies {first offset, last offset}.
local head, stream = KEYS[1], KEYS[2]
local size, age, channel, how = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local FIRST = 5 -- the first message's slots in ARGV: its key, then itself
-- Entries past `age` are trimmed in steps of this fraction of it. A read never serves them
-- (room-read.lua checks the age). Looking for them on every append read the stream's oldest
-- hundred entries each time: an append took 140 us of Redis' time, about 40 now that it reads one
-- entry, and the hundred once per step.
local AGE_STEPS = 8

local n = next_of(head)
local first = n
local publish = 'PUBLISH'
if how == 's' then publish = 'SPUBLISH' end
for i = FIRST, #ARGV, 2 do
  local key, message = ARGV[i], ARGV[i + 1]
  if key == '-' then redis.call('XADD', stream, id(n), 'd', message, 't', now)
  else redis.call('XADD', stream, id(n), 'd', message, 't', now, 'k', string.sub(key, 2)) end
  redis.call(publish, channel, whole(n) .. ' ' .. message)
  n = n + 1
end
redis.call('HSET', head, 'next', whole(n))
redis.call('XTRIM', stream, 'MAXLEN', size)
local old = now - age
local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if oldest and tonumber(oldest[2][4]) < old - age / AGE_STEPS then
  local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', 100)
  local keep = nil
  for _, e in ipairs(entries) do
    if tonumber(e[2][4]) >= old then keep = e[1] break end
  end
  if keep then redis.call('XTRIM', stream, 'MINID', keep)
  elseif #entries > 0 then
    redis.call('XTRIM', stream, 'MINID', id(tonumber(string.match(entries[#entries][1], '^(%d+)')) + 1))
  end
end
return {whole(first), whole(n - 1)}
