-- refresh: extend the lease of ARGV[1] to at least ARGV[2] ms if the lock
-- holds it. It never shortens it: a command that adopted its parent's lease
-- may refresh it with another TTL than the parent's, and each counts on its
-- own. KEYS: 1 lock, 2 token.
-- Returns {1, token} when held (and extended where needed), or
-- {0, current holder or ""}.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  local want = tonumber(ARGV[2])
  if redis.call('PTTL', KEYS[1]) < want then
    redis.call('PEXPIRE', KEYS[1], want)
  end
  if redis.call('PTTL', KEYS[2]) < want then
    redis.call('PEXPIRE', KEYS[2], want)
  end
  return {1, redis.call('GET', KEYS[2]) or ''}
end
return {0, cur or ''}
