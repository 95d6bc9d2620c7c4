-- refresh: extend the lease of ARGV[1] to ARGV[2] ms if the lock holds it.
-- KEYS: 1 lock, 2 token.
-- Returns {1, token} when extended, or {0, current holder or ""}.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, cur or ''}
