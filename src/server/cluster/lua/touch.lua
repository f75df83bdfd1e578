-- Keep sessions alive while links hold them, or only look at them, several in one script.
-- KEYS: per session its hash, out (list), inbox (list) and rooms (set)
-- ARGV: ttl, then per session renew (1: renew its keys; 0: look only)
-- Replies per session 0 (ended or gone), or {address, last seq sent, last seq received}: its
-- census entry is renewed with it, and a node that has not written or handed that much reads the
-- log or the inbox (a hint it missed).
local ttl = ARGV[1]
local PER_SESSION = 4 -- keys

local out = {}
for j = 1, #KEYS, PER_SESSION do
  local hash = KEYS[j]
  local renew = ARGV[(j - 1) / PER_SESSION + 2]
  local m = redis.call('HMGET', hash, 'end', 'adr', 'out', 'rcv')
  local ended, address, sent, received = m[1], m[2], m[3], m[4]
  if not ended or ended ~= '' or lost(hash) then table.insert(out, 0)
  else
    if renew == '1' then
      for k = j, j + PER_SESSION - 1 do redis.call('PEXPIRE', KEYS[k], ttl) end
    end
    table.insert(out, {address, sent or '0', received or '0'})
  end
end
return out
