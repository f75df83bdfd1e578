-- A room's next offset (a member joining starts there). Makes the room's head if it has none.
-- KEYS: head (the room's hash)
-- Replies the offset.
local head = KEYS[1]

return whole((next_of(head)))
