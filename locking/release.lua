-- release: one round trip at the end of a lease.
-- KEYS: 1 lock, 2 token, 3 queue, 4 queue expiry, 5 fence, 6 commit.
-- ARGV: 1 lease id, 2 release channel prefix, 3 the grace (ms) the first
--       waiter in line has to claim the lease, 4 the TTL (ms) of a lease
--       handed to the first waiter in line ("0": none is handed over),
--       5 "1" to keep the lease (an adopted lease: publish only; absent or
--       "0" otherwise); when a committed version is to be stored also
--       6 committed version JSON, 7 its token, 8 change channel,
--       9 change event JSON.
-- (The plain release passes no more than it needs: each argument costs
-- Redis time on every call.)
-- Stores the committed version when it is newer than the stored one and
-- publishes the change event. When the lock does not hold ARGV[1] (a waiter
-- that gave up), removes its place in line. If it does and ARGV[5] is
-- not "1", deletes lock and token and turns to the first waiter in line whose
-- place has not expired. Its release channel (ARGV[2] .. ":" .. its lease id
-- without the last "/" part, see Keys.WakeChannel) is its locker's own.
-- When that locker is subscribed to it (PUBSUB NUMSUB; refused by an ACL
-- counts as not), ARGV[4] is not "0" and Redis does not refuse the PUBLISH,
-- the lease is handed over: the lock set to the waiter's lease id for
-- ARGV[4] ms, a new token taken from the fence, the waiter's place removed,
-- and the grant published there ("+" token " " TTL " " length of the lease id ":" lease id,
-- then the committed version): the waiter holds the lease without another
-- round trip. Otherwise the waiter gets the grace to claim the lease and its
-- lease id alone is published there. Nothing is published when no one is in
-- line; the other waiters retry on their own within the grace.
-- Returns {owned (0/1), stored (0/1)}, and a third element, the error of
-- the first PUBLISH Redis refused, when one was (see publish below).
local owned = redis.call('GET', KEYS[1]) == ARGV[1]
local stored = 0
-- A PUBLISH refused (an ACL without it: NOPERM) must not end the script
-- half-way: Redis does not roll back what a script did before an error, so
-- the committed version would be stored but the lease kept for its whole
-- TTL, holding up the next holder. The release goes on without the message
-- (watchers and waiters then learn of it by polling only) and returns the
-- refusal for the caller to report.
local refused
local function publish(channel, msg)
  local r = redis.pcall('PUBLISH', channel, msg)
  if type(r) == 'table' and r.err then
    refused = refused or r.err
    return false
  end
  return true
end
-- The compare-and-delete (or a waiter's leaving the line) comes first: a
-- Redis over its maxmemory (noeviction) refuses a script's first command
-- that may grow memory (the SET of the committed version), which would end
-- the script with the lease held for its whole TTL; after a write, Redis
-- lets the script finish. Nothing sees the order: a script is atomic.
if not owned and ARGV[5] ~= '1' then
  -- A waiter that gave up: its place in line goes in the same step, so that
  -- no later release hands it the lease.
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
if owned and ARGV[5] ~= '1' then
  redis.call('DEL', KEYS[1], KEYS[2])
end
if ARGV[6] then
  local cur = redis.call('GET', KEYS[6])
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
  if tonumber(ARGV[7]) > curTok then
    redis.call('SET', KEYS[6], ARGV[6])
    stored = 1
    publish(ARGV[8], ARGV[9])
  end
end
if owned and ARGV[5] ~= '1' then
  local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if head then
    -- TIME is in no ACL category but @fast: a user granted +@read +@write
    -- +@scripting may not run it, and Redis's refusal would not say which
    -- command it refused.
    local t = redis.pcall('TIME')
    if t.err then
      return redis.error_reply('NOPERM the lease scripts need the TIME command once a key is contended (ACL: +time): ' .. t.err)
    end
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
      local channel = ARGV[2] .. ':' .. (string.match(head, '^(.*)/') or head)
      local ttl = tonumber(ARGV[4])
      -- Handed over only to a locker that hears of it: a waiter whose
      -- process died would otherwise hold the lease for a whole TTL. (An ACL
      -- that refuses PUBSUB: no one is known to listen.)
      local subs = ttl > 0 and redis.pcall('PUBSUB', 'NUMSUB', channel)
      local handed = false
      if type(subs) == 'table' and tonumber(subs[2]) and tonumber(subs[2]) > 0 then
        local tok = redis.call('INCR', KEYS[5])
        -- The grant goes out before the lease is set: a waiter that is never
        -- told it holds the lease would hold it, unused, for a whole TTL.
        -- Refused, nothing is handed over (the token stays spent: tokens
        -- only have to grow) and the waiter retries on its own.
        handed = publish(channel, '+' .. tostring(tok) .. ' ' .. ARGV[4] .. ' ' .. #head .. ':' .. head .. (redis.call('GET', KEYS[6]) or ''))
        if handed then
          redis.call('SET', KEYS[1], head, 'PX', ttl)
          redis.call('SET', KEYS[2], tok, 'PX', ttl)
          redis.call('ZREM', KEYS[3], head)
          redis.call('ZREM', KEYS[4], head)
          -- The next in line must claim within the TTL plus the grace, or
          -- retry before (as after a grant by acquire.lua).
          local nxt = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
          if nxt then
            redis.call('ZADD', KEYS[4], 'XX', 'LT', now + ttl + math.floor(ttl / 5) + tonumber(ARGV[3]), nxt)
          end
        end
      end
      if not handed then
        redis.call('ZADD', KEYS[4], 'XX', 'LT', now + tonumber(ARGV[3]), head)
        -- Tried even after a refusal: an ACL may allow some channels only.
        publish(channel, head)
      end
    end
  end
end
local r = {0, stored}
if owned then r[1] = 1 end
if refused then r[3] = refused end
return r
