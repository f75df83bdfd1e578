-- A room's messages from offset `from`.
-- KEYS: head (the room's hash), stream
-- ARGV: from, max, age (ms)
-- Replies {'ok', next offset, the last offset read, offset and message of each kept (of the latest
-- values read, only the newest of each key)}, or {'reset', next offset} when the stream no longer
-- holds `from` (trimmed by count or age, or the room's log was lost and made afresh).
local head, stream = KEYS[1], KEYS[2]
local from, max, age = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])

local n, fresh = next_of(head)
if from >= n then return {'ok', whole(n), whole(from - 1), {}} end
if fresh then return {'reset', whole(n)} end
local list = redis.call('XRANGE', stream, id(from), '+', 'COUNT', max)
if #list == 0 or list[1][1] ~= id(from) or tonumber(list[1][2][4]) < now - age then
  return {'reset', whole(n)}
end
local out, newer = {}, {}
for j = #list, 1, -1 do
  local e = list[j]
  local k = e[2][6]
  if not k or not newer[k] then
    table.insert(out, 1, e[2][2])
    table.insert(out, 1, string.match(e[1], '^(%d+)'))
  end
  if k then newer[k] = true end
end
return {'ok', whole(n), string.match(list[#list][1], '^(%d+)'), out}
