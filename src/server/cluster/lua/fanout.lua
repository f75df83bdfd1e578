-- Fan room messages out into the logs of the members named (some of the room, all in one hash
-- slot on a Redis Cluster, so that a script keeps to one slot and Redis is never held long by
-- one), each once: a member whose own rooms no longer hold the room is skipped. A member past its
-- bounds is ended with 3900 (BUFFER_OVERFLOW). Wakes each active link's node once, naming its
-- sessions.
-- KEYS: the first member's hash (it routes the script to the members' slot; the others' keys are
--       in that slot too)
-- ARGV: prefix (of session keys), room, max_bytes, max_count, channel (hint prefix), overflow
--       (the reason a member past its bounds is ended with), k (how many messages), k messages,
--       sids...
-- Replies {delivered (how many members took them), the sids ended for overflow, those gone or
-- ended} (the caller takes both out of the room's set, in the room's slot).
local prefix, room, max_bytes, max_count, channel, overflow, k =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
local FIRST = 8 -- the first message's slot in ARGV; the sids follow the messages

local bytes = size(ARGV, FIRST, FIRST + k - 1)
local wake, over, gone, delivered = {}, {}, {}, 0
for j = FIRST + k, #ARGV do
  local sid = ARGV[j]
  local h = prefix .. '{' .. sid .. '}'
  local m = redis.call('HMGET', h, 'sent', 'sentBytes', 'ended', 'active', 'owner')
  local out, ob, ended, act, own = tonumber(m[1]), tonumber(m[2]), m[3], m[4], m[5]
  if not m[1] or ended ~= '' or lost(h) then
    gone[#gone + 1] = sid
  elseif redis.call('SISMEMBER', h .. ':r', room) == 1 then
    local o = h .. ':o'
    local len = redis.call('LLEN', o)
    if ob + bytes > max_bytes or len + k > max_count then
      redis.call('HSET', h, 'ended', '3900 ' .. overflow)
      over[#over + 1] = sid
      for _, node in ipairs({own, node_of(act) or ''}) do
        if node ~= '' then redis.call('PUBLISH', channel .. node, 'e ' .. sid) end
      end
    else
      push(o, ARGV, FIRST, FIRST + k - 1)
      if len == 0 then follow(h, o) end
      redis.call('HSET', h, 'sent', out + k, 'sentBytes', ob + bytes)
      delivered = delivered + 1
      local node = node_of(act)
      -- A table per node, joined once: growing one string per member copies it every time.
      if node then
        local list = wake[node] or {'w'}
        list[#list + 1] = sid .. ' ' .. (out + k)
        wake[node] = list
      end
    end
  end
end
for node, list in pairs(wake) do redis.call('PUBLISH', channel .. node, table.concat(list, ' ')) end
return {delivered, over, gone}
