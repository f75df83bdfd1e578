-- Helpers every session script opens with (lua.ts `withHelpers`).
--
-- Session hash fields (key layout 2; layout 1 had two- and three-letter names): sent (last seq
-- sent), acked (the client's cursor), sentBytes (bytes not acknowledged), received (last seq
-- received), delivered (handed to the app), inboxBytes, owner (owner node), fence (fencing token),
-- active ("kind node" of the active link), uses (last `u<k>`), confirmed, ended ("code reason" once
-- ended), reliable, ttl (ms), runId (the run_id of the Redis process that made it, when the store
-- is not durable; '' when it is), heartbeat (the one the client asked for, ms), origin, address,
-- headers and data (headers and `authenticate` data, JSON), positions (1: the client holds its
-- room positions), lastAppend and lastFirst (the last append's id and first seq), link:<kind> (the
-- node holding that kind of link), held:<node> (that node holds a link of it) and holders (how
-- many nodes do).
-- A stored message is one byte of type ('t' text, 'b' binary) and its bytes.

local function fail(what, ...) return {what, ...} end

-- An existing key takes the remaining life of the session hash (a list made now must not outlive it).
local function follow(h, key)
  local left = redis.call('PTTL', h)
  if left > 0 then redis.call('PEXPIRE', key, left) end
end

-- The bytes of messages list[from..to], their type bytes left out.
local function size(list, from, to)
  local bytes = 0
  for j = from, to do bytes = bytes + #list[j] - 1 end
  return bytes
end

-- RPUSH list[from..to] in chunks: Lua's unpack() has a stack limit of a few thousand values.
local function push(key, list, from, to)
  to = to or #list
  for j = from, to, 1000 do
    redis.call('RPUSH', key, unpack(list, j, math.min(j + 999, to)))
  end
end

-- The node of an active link ("kind node"), or nil.
local function node_of(act) return string.match(act, ' (.+)$') end

local run_id
-- A session made on a Redis process that has restarted since, when nothing says its writes all
-- survived (not durable), may have been rolled back: it is lost, and the client resets visibly.
local function lost(h)
  local rid = redis.call('HGET', h, 'runId')
  if not rid or rid == '' then return false end
  run_id = run_id or string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  return rid ~= run_id
end

-- Why the caller may not write session h, or nil when it may: m is its HMGET, 'fence' first, and
-- with open 'ended' second (an ended session refuses too).
local function refused(h, fence, m, open)
  if not m[1] or lost(h) then return fail('gone') end
  if m[1] ~= fence then return fail('fenced') end
  if open and m[2] ~= '' then return fail('ended', m[2]) end
end
