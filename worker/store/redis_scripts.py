"""The Redis store's Lua scripts: each is one atomic write, whichever worker runs it.

Times arrive as strings written with `repr(float)` and are compared only after `tonumber`,
so a time goes in and comes out unchanged. Per-delivery and per-state key names are built
from prefixes passed in ARGV (see worker/store/keys.py), which is why the store needs one
Redis server rather than a Redis Cluster.
"""

from __future__ import annotations

# Moves a delivery between state indexes and keeps the per-(channel, state) counts.
LUA_MOVE = """
local function move(skp, counts, id, channel, from, to, created)
  if from ~= to then
    redis.call('ZREM', skp .. from, id)
    redis.call('ZADD', skp .. to, created, id)
    redis.call('HINCRBY', counts, channel .. '|' .. from, -1)
    redis.call('HINCRBY', counts, channel .. '|' .. to, 1)
  end
end
"""

# Inserts a delivery unless its id exists; true when it did. `d` is (id, channel, alert ids
# json, state, created_at, next_attempt_at, kind).
LUA_INSERT = """
local function insert_delivery(dkp, skp, due, all, counts, d)
  local id, state = d[1], d[4]
  local key = dkp .. id
  if redis.call('EXISTS', key) == 1 then return false end
  redis.call('HSET', key, 'id', id, 'channel', d[2], 'alert_ids', d[3], 'state', state,
    'attempts', '0', 'created_at', d[5], 'next_attempt_at', d[6], 'last_error', '',
    'kind', d[7])
  redis.call('ZADD', all, d[5], id)
  redis.call('ZADD', skp .. state, d[5], id)
  redis.call('HINCRBY', counts, d[2] .. '|' .. state, 1)
  if state == 'pending' or state == 'failed' then redis.call('ZADD', due, d[6], id) end
  return true
end
"""

# KEYS: seen, alerts, due, all, counts. ARGV: delivery key prefix, state key prefix, now, n items,
# n alerts, n deliveries, then item ids, (alert id, json) pairs, and per delivery
# (id, channel, alert ids json, state, created_at, next_attempt_at, kind).
RECORD_BATCH = (
    LUA_INSERT
    + """
local seen, alerts, due, all, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dkp, skp, now = ARGV[1], ARGV[2], ARGV[3]
local i = 7
for _ = 1, tonumber(ARGV[4]) do
  redis.call('ZADD', seen, 'NX', now, ARGV[i]); i = i + 1
end
for _ = 1, tonumber(ARGV[5]) do
  redis.call('HSETNX', alerts, ARGV[i], ARGV[i + 1]); i = i + 2
end
local created = {}
for _ = 1, tonumber(ARGV[6]) do
  local d = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
    ARGV[i + 6]}
  if insert_delivery(dkp, skp, due, all, counts, d) then created[#created + 1] = d[1] end
  i = i + 7
end
return created
"""
)

# KEYS: due, counts. ARGV: delivery key prefix, state key prefix, now, lease_until, limit, ids...
# With limit > 0 the ids are taken from the due index instead (claim_due).
CLAIM = (
    LUA_MOVE
    + """
local due, counts = KEYS[1], KEYS[2]
local dkp, skp, now, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ids = {}
if tonumber(ARGV[5]) > 0 then
  ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
else
  for j = 6, #ARGV do ids[#ids + 1] = ARGV[j] end
end
local n = tonumber(now)
local claimed = {}
for _, id in ipairs(ids) do
  local key = dkp .. id
  local h = redis.call('HMGET', key, 'state', 'next_attempt_at', 'lease_until', 'created_at',
    'channel')
  local state, ok = h[1], false
  if state == 'pending' or state == 'failed' then
    ok = tonumber(h[2]) <= n
  elseif state == 'sending' then
    ok = (not h[3]) or tonumber(h[3]) <= n
  end
  if ok then
    redis.call('HSET', key, 'state', 'sending', 'lease_until', lease)
    redis.call('HINCRBY', key, 'attempts', 1)
    move(skp, counts, id, h[5], state, 'sending', h[4])
    redis.call('ZADD', due, lease, id)
    claimed[#claimed + 1] = redis.call('HGETALL', key)
  end
end
return claimed
"""
)

# KEYS: due, counts. ARGV: delivery key prefix, state key prefix, id, new state, due score
# ('' removes it from the due index), reset attempts ('1'/'0'), allowed states (',a,b,' or
# '*'), then field/value pairs to set; '' on lease_until or sent_at deletes the field.
TRANSITION = (
    LUA_MOVE
    + """
local due, counts = KEYS[1], KEYS[2]
local dkp, skp, id, to, score, reset, allowed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
  ARGV[6], ARGV[7]
local key = dkp .. id
local h = redis.call('HMGET', key, 'state', 'created_at', 'channel')
local from = h[1]
if not from then return 0 end
if allowed ~= '*' and not string.find(allowed, ',' .. from .. ',', 1, true) then return 0 end
redis.call('HSET', key, 'state', to)
for j = 8, #ARGV, 2 do
  if ARGV[j + 1] == '' and (ARGV[j] == 'lease_until' or ARGV[j] == 'sent_at') then
    redis.call('HDEL', key, ARGV[j])
  else
    redis.call('HSET', key, ARGV[j], ARGV[j + 1])
  end
end
if reset == '1' then redis.call('HSET', key, 'attempts', '0') end
move(skp, counts, id, h[3], from, to, h[2])
if score == '' then redis.call('ZREM', due, id) else redis.call('ZADD', due, score, id) end
return 1
"""
)

# KEYS: due, counts. ARGV: delivery key prefix, state key prefix, id, next_attempt_at.
# A SENDING delivery goes back unsent, one attempt fewer: PENDING if it had not been tried
# before this claim, else FAILED (keeping its last error).
DEFER = (
    LUA_MOVE
    + """
local due, counts = KEYS[1], KEYS[2]
local dkp, skp, id, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = dkp .. id
local h = redis.call('HMGET', key, 'state', 'created_at', 'channel', 'attempts')
if h[1] ~= 'sending' then return 0 end
local attempts = tonumber(h[4])
local to = 'failed'
if attempts <= 1 then to = 'pending' end
redis.call('HSET', key, 'state', to, 'attempts', tostring(math.max(attempts - 1, 0)),
  'next_attempt_at', at)
redis.call('HDEL', key, 'lease_until')
move(skp, counts, id, h[3], 'sending', to, h[2])
redis.call('ZADD', due, at, id)
return 1
"""
)

# KEYS: seen, alerts, due, all, counts, holds, holds by release, holds by created, members,
# members by event, members by seen, marks, marks updated. ARGV: delivery key prefix, state
# key prefix, cluster key prefix, the batch as JSON: {now, items, alerts: [[id, json]],
# holds: [[alert id, json, created, release or ""]], members: [[item id, cluster id, event,
# seen, json]], marks: [[key, value]], deliveries: [[as insert_delivery]]}.
RECORD_ROUTED = (
    LUA_INSERT
    + """
local b = cjson.decode(ARGV[4])
local dkp, skp, ckp, now = ARGV[1], ARGV[2], ARGV[3], b.now
for _, id in ipairs(b.items) do redis.call('ZADD', KEYS[1], 'NX', now, id) end
for _, a in ipairs(b.alerts) do redis.call('HSETNX', KEYS[2], a[1], a[2]) end
for _, h in ipairs(b.holds) do
  if redis.call('HSETNX', KEYS[6], h[1], h[2]) == 1 then
    redis.call('ZADD', KEYS[8], h[3], h[1])
    if h[4] ~= '' then redis.call('ZADD', KEYS[7], h[4], h[1]) end
  end
end
for _, m in ipairs(b.members) do
  if redis.call('HSETNX', KEYS[9], m[1], m[5]) == 1 then
    redis.call('ZADD', KEYS[10], m[3], m[1])
    redis.call('ZADD', KEYS[11], m[4], m[1])
    redis.call('SADD', ckp .. m[2], m[1])
  end
end
for _, mark in ipairs(b.marks) do
  redis.call('HSET', KEYS[12], mark[1], mark[2])
  redis.call('ZADD', KEYS[13], now, mark[1])
end
local created = {}
for _, d in ipairs(b.deliveries) do
  if insert_delivery(dkp, skp, KEYS[3], KEYS[4], KEYS[5], d) then created[#created + 1] = d[1] end
end
return created
"""
)

# KEYS: holds, holds by release, holds by created, marks, marks updated, due, all, counts.
# ARGV: delivery key prefix, state key prefix, {now, alert_ids, marks, deliveries} as JSON.
RELEASE_HOLDS = (
    LUA_INSERT
    + """
local b = cjson.decode(ARGV[3])
for _, id in ipairs(b.alert_ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
for _, mark in ipairs(b.marks) do
  redis.call('HSET', KEYS[4], mark[1], mark[2])
  redis.call('ZADD', KEYS[5], b.now, mark[1])
end
local created = {}
for _, d in ipairs(b.deliveries) do
  if insert_delivery(ARGV[1], ARGV[2], KEYS[6], KEYS[7], KEYS[8], d) then
    created[#created + 1] = d[1]
  end
end
return created
"""
)

# KEYS: the lock. ARGV: owner, until, now (the caller's clock), Redis expiry in ms (only so
# an abandoned lock does not stay forever). Free, expired or already the owner's: take it.
TRY_LOCK = """
local h = redis.call('HMGET', KEYS[1], 'owner', 'until')
if (not h[1]) or h[1] == ARGV[1] or tonumber(h[2]) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'until', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
"""

# KEYS: the lock. ARGV: owner.
UNLOCK = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: seen, seen owner, seen latest. ARGV: feed, now, item ids... Items already seen are
# marked as carried by the feed now; the feed's latest poll with items is now. Returns how
# many items had been seen before now.
TOUCH_SEEN = """
local seen, owner, latest = KEYS[1], KEYS[2], KEYS[3]
local feed, now = ARGV[1], ARGV[2]
local n, any = 0, false
for j = 3, #ARGV do
  local s = redis.call('ZSCORE', seen, ARGV[j])
  if s then
    any = true
    if tonumber(s) < tonumber(now) then
      redis.call('ZADD', seen, 'XX', now, ARGV[j]); n = n + 1
      redis.call('HSET', owner, ARGV[j], feed)
    else
      -- recorded by this poll (record_batch knows no feed here): the feed owns it
      redis.call('HSETNX', owner, ARGV[j], feed)
    end
  end
end
if any then
  local last = redis.call('HGET', latest, feed)
  if (not last) or tonumber(last) < tonumber(now) then redis.call('HSET', latest, feed, now) end
end
return n
"""

# KEYS: seen, seen owner, seen latest. ARGV: before, item ids... Forgets each item still last
# carried before `before`, unless its feed's latest poll with items carried it. Returns how
# many were forgotten.
PRUNE_SEEN = """
local seen, owner, latest = KEYS[1], KEYS[2], KEYS[3]
local before = tonumber(ARGV[1])
local n = 0
for j = 2, #ARGV do
  local s = redis.call('ZSCORE', seen, ARGV[j])
  if s and tonumber(s) < before then
    local keep = false
    local feed = redis.call('HGET', owner, ARGV[j])
    if feed then
      local last = redis.call('HGET', latest, feed)
      keep = last ~= false and tonumber(s) >= tonumber(last)
    end
    if not keep then
      redis.call('ZREM', seen, ARGV[j]); redis.call('HDEL', owner, ARGV[j]); n = n + 1
    end
  end
end
return n
"""
