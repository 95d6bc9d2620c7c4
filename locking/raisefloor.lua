-- raise-floor: move the fence counter past ARGV[2] and hand the lease of
-- ARGV[1] a new token, only if the lock holds ARGV[1].
-- KEYS: 1 lock, 2 token, 3 fence.
-- Returns {1, new token} or {0, current holder or ""}.
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then
  return {0, cur or ''}
end
local f = tonumber(redis.call('GET', KEYS[3]) or '0')
if f < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
local tok = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], tok, 'KEEPTTL')
return {1, tostring(tok)}
