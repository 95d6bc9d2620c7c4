-- release: one round trip at the end of a lease.
-- KEYS: 1 lock, 2 token, 3 queue, 4 queue expiry, and 5 commit only when a
-- committed version is to be stored.
-- ARGV: 1 lease id, 2 release channel prefix, 3 the grace (ms) the first waiter in
--       line has to claim the lease, 4 "1" to keep the lease (an adopted
--       lease: publish only; absent or "0" otherwise); with KEYS[5] also
--       5 committed version JSON, 6 its token, 7 change channel,
--       8 change event JSON.
-- (The plain release passes no more than it needs: each key and argument
-- costs Redis time on every call.)
-- Stores the committed version when it is newer than the stored one and
-- publishes the change event; then, if the lock holds ARGV[1] and ARGV[4] is
-- not "1", deletes lock and token, gives the first waiter in line its grace
-- to claim the lease (see acquire.lua) and publishes its lease id on the
-- release channel of its process (ARGV[2] .. ":" .. the lease id without its
-- last "/" part, see Keys.WakeChannel), so that only that process hears of
-- the release; nothing is published when no one is in line. The other
-- waiters retry on their own within the grace.
-- Returns {owned (0/1), stored (0/1)}.
local owned = redis.call('GET', KEYS[1]) == ARGV[1]
local stored = 0
if KEYS[5] then
  local cur = redis.call('GET', KEYS[5])
  local curTok = -1
  if cur then
    -- The record as this project writes it starts with its token; decode
    -- the whole JSON only for one that does not.
    curTok = tonumber(string.match(cur, '^{"token":(%d+)[,}]'))
    if not curTok then
      curTok = -1
      local ok, d = pcall(cjson.decode, cur)
      if ok and type(d) == 'table' and tonumber(d['token']) then
        curTok = tonumber(d['token'])
      end
    end
  end
  if tonumber(ARGV[6]) > curTok then
    redis.call('SET', KEYS[5], ARGV[5])
    redis.call('PUBLISH', ARGV[7], ARGV[8])
    stored = 1
  end
end
if owned and ARGV[4] ~= '1' then
  redis.call('DEL', KEYS[1], KEYS[2])
  local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if head then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    -- Name a waiter whose place has not expired: a dead one named here would
    -- hold up the others for a grace it cannot use.
    local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
    if #dead > 0 then
      redis.call('ZREM', KEYS[3], unpack(dead))
      redis.call('ZREM', KEYS[4], unpack(dead))
      head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    end
    if head then
      redis.call('ZADD', KEYS[4], 'XX', 'LT', now + tonumber(ARGV[3]), head)
    end
  end
  if head then
    redis.call('PUBLISH', ARGV[2] .. ':' .. (string.match(head, '^(.*)/') or head), head)
  end
end
if owned then return {1, stored} end
return {0, stored}
