-- release: one round trip at the end of a lease.
-- KEYS: 1 lock, 2 token, 3 commit, 4 queue, 5 queue expiry.
-- ARGV: 1 lease id, 2 committed version JSON or "", 3 its token,
--       4 release channel, 5 change channel, 6 change event JSON,
--       7 "1" to keep the lease (an adopted lease: publish only).
-- Stores the committed version when it is newer than the stored one and
-- publishes the change event; then, if the lock holds ARGV[1] and ARGV[7] is
-- not "1", deletes lock and token and publishes the lease id on the release
-- channel, and gives the first waiter in line ARGV[8] ms to claim the lease
-- (see acquire.lua). Returns {owned (0/1), stored (0/1)}.
local owned = redis.call('GET', KEYS[1]) == ARGV[1]
local stored = 0
if ARGV[2] ~= '' then
  local cur = redis.call('GET', KEYS[3])
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
  if tonumber(ARGV[3]) > curTok then
    redis.call('SET', KEYS[3], ARGV[2])
    redis.call('PUBLISH', ARGV[5], ARGV[6])
    stored = 1
  end
end
if owned and ARGV[7] ~= '1' then
  redis.call('DEL', KEYS[1], KEYS[2])
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if head then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZADD', KEYS[5], 'XX', 'LT', now + tonumber(ARGV[8]), head)
  end
  redis.call('PUBLISH', ARGV[4], ARGV[1])
end
if owned then return {1, stored} end
return {0, stored}
