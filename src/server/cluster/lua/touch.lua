-- Renew the keys of sessions held here (rarely: every hold_ttl / 3), or only look at them, several
-- in one script. A node that has not written or handed as much as Redis has reads the log or the
-- inbox (a hint it missed).
-- KEYS: per session its hash, out (list), inbox (list) and rooms (set)
-- ARGV: node, hold_ttl (ms), then per session renew (1: renew its keys, only if this node holds
--       it; 0: look only)
-- Replies per session 0 (ended or gone), or {address, last seq sent, last seq received, how many
-- nodes hold it, the ms its hash has left, 1 if renewed} (its census entry is renewed with it).
local node, hold_ttl = ARGV[1], ARGV[2]
local PER_SESSION = 4 -- keys
local FIRST = 3 -- the first session's renew flag in ARGV

local out = {}
for j = 1, #KEYS, PER_SESSION do
  local hash = KEYS[j]
  local renew = ARGV[FIRST + (j - 1) / PER_SESSION]
  local m = redis.call('HMGET', hash, 'ended', 'address', 'sent', 'received', 'holders', 'held:' .. node)
  local ended, address, sent, received, holders, held_here = m[1], m[2], m[3], m[4], m[5], m[6]
  if not ended or ended ~= '' or lost(hash) then table.insert(out, 0)
  else
    local renewed = 0
    if renew == '1' and held_here then
      for k = j, j + PER_SESSION - 1 do redis.call('PEXPIRE', KEYS[k], hold_ttl) end
      renewed = 1
    end
    table.insert(out, {address, sent or '0', received or '0', holders or '0', redis.call('PTTL', hash), renewed})
  end
end
return out
