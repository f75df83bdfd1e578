-- Redis's clock in ms, shared by every node: nothing stored depends on a node's own clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
