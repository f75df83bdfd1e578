-- Helpers of the room scripts (after time.lua): offsets as whole numbers (Lua prints 1.8e14 as
-- `1.8e+14`), a stream entry's id of an offset, and the room's next offset.
local function whole(n) return string.format('%.0f', n) end
local function id(n) return whole(n) .. '-0' end

-- A room made afresh starts above the time in ms x 100: above every offset an earlier log of the
-- same name gave out, unless that one averaged more than 100 messages a millisecond.
local function next_of(head)
  local n = tonumber(redis.call('HGET', head, 'next'))
  if n then return n, false end
  n = now * 100
  redis.call('HSET', head, 'next', whole(n))
  return n, true
end
