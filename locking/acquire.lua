-- acquire: take the lease for ARGV[1] (lease id) with TTL ARGV[2] ms.
-- KEYS: 1 lock, 2 token, 3 fence, 4 commit, 5 queue, 6 queue expiry
-- (one hash tag: one Cluster slot). ARGV[3]: the grace (ms) a waiter at the
-- head of the queue has to claim a freed lease.
-- Returns {1, token, committed-json-or-""} when held by ARGV[1];
-- {0, holder lease id, holder PTTL ms, 1 if ARGV[1] is first in line else 0,
-- fence} when another lease holds it;
-- {2, head waiter, ms until the head's claim expires, 0, fence} when it is
-- free but an earlier waiter is first in line. (The fence tells a refused
-- waiter which release messages handing it the lease are newer than this
-- reply: their token is above it. See release.lua.)
-- Idempotent for a given lease id: when the lock already holds ARGV[1] (a
-- retry after a lost reply), the stored token is returned and the fence is
-- not incremented again.
--
-- Waiters queue in arrival order (queue: score = arrival ms, with the
-- microseconds as a fraction, and past every earlier arrival even within one
-- microsecond), so a freed lease goes to the longest waiter. Each waiter's
-- entry expires (queue expiry: score = deadline ms) unless it keeps retrying,
-- so a waiter that died holds up the line for at most the grace after the
-- lease is freed.
if redis.call('EXISTS', KEYS[5]) == 0 and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  -- Free and no one in line (the common, uncontended case): taken without
  -- the queue bookkeeping below.
  local tok = redis.call('INCR', KEYS[3])
  redis.call('SET', KEYS[2], tok, 'PX', ARGV[2])
  return {1, tostring(tok), redis.call('GET', KEYS[4]) or ''}
end
local cur = redis.call('GET', KEYS[1])
-- TIME is in no ACL category but @fast: a user granted +@read +@write
-- +@scripting may not run it, and Redis's refusal would not say which
-- command it refused.
local t = redis.pcall('TIME')
if t.err then
  return redis.error_reply('NOPERM the lease scripts need the TIME command once a key is contended (ACL: +time): ' .. t.err)
end
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
-- Joins the line once: a retry keeps its place.
local function enqueue()
  if redis.call('ZSCORE', KEYS[5], ARGV[1]) then return end
  local at = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  local last = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')[2]
  if last and at <= tonumber(last) then at = tonumber(last) + 0.001 end
  redis.call('ZADD', KEYS[5], at, ARGV[1])
end
local grace = tonumber(ARGV[3])
-- At most 1000 at a time: unpack has a stack limit; later calls take the rest.
local dead = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, 1000)
if #dead > 0 then
  redis.call('ZREM', KEYS[5], unpack(dead))
  redis.call('ZREM', KEYS[6], unpack(dead))
end
if cur == ARGV[1] then
  local tok = redis.call('GET', KEYS[2])
  if tok then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    return {1, tok, redis.call('GET', KEYS[4]) or ''}
  end
  redis.call('DEL', KEYS[1])
elseif cur then
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl < 0 then pttl = 0 end
  enqueue()
  redis.call('ZADD', KEYS[6], now + pttl + math.floor(pttl / 5) + grace, ARGV[1])
  local first = 0
  if redis.call('ZRANK', KEYS[5], ARGV[1]) == 0 then first = 1 end
  return {0, cur, pttl, first, redis.call('GET', KEYS[3]) or '0'}
end
local head = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
if head and head ~= ARGV[1] then
  local hexp = tonumber(redis.call('ZSCORE', KEYS[6], head) or now)
  enqueue()
  redis.call('ZADD', KEYS[6], hexp + grace, ARGV[1])
  return {2, head, hexp - now, 0, redis.call('GET', KEYS[3]) or '0'}
end
if head then
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local tok = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], tok, 'PX', ARGV[2])
-- The next in line must claim within the TTL plus the grace, or retry before.
local nxt = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
if nxt then
  redis.call('ZADD', KEYS[6], 'XX', 'LT', now + ttl + math.floor(ttl / 5) + grace, nxt)
end
return {1, tostring(tok), redis.call('GET', KEYS[4]) or ''}
