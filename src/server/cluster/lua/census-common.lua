-- Helpers of the census scripts that give an address's set a life (after time.lua).

-- An address's set lives as long as its longest entry: a held session's is far longer than sessionTtl.
local function extend(key, ms)
  local left = redis.call('PTTL', key)
  if left == -1 or left < tonumber(ms) then redis.call('PEXPIRE', key, ms) end
end
