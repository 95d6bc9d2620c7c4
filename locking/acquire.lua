-- acquire: take the lease for ARGV[1] (lease id) with TTL ARGV[2] ms.
-- KEYS: 1 lock, 2 token, 3 fence, 4 commit (one hash tag: one Cluster slot).
-- Returns {1, token, committed-json-or-""} when held by ARGV[1], or
-- {0, holder lease id, holder PTTL ms}.
-- Idempotent for a given lease id: when the lock already holds ARGV[1] (a
-- retry after a lost reply), the stored token is returned and the fence is
-- not incremented again.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  local tok = redis.call('GET', KEYS[2])
  if tok then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    return {1, tok, redis.call('GET', KEYS[4]) or ''}
  end
  redis.call('DEL', KEYS[1])
elseif cur then
  return {0, cur, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local tok = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], tok, 'PX', ARGV[2])
return {1, tostring(tok), redis.call('GET', KEYS[4]) or ''}
