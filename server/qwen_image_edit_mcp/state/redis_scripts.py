"""The spend ledger's Lua scripts (redis_ledger.py runs them). Redis runs each one without interleaving any other
command, so a check and the write it allows are one atomic step, for every replica at once.

Every script gets the same four keys, all under one hash tag so a Redis Cluster keeps them in one slot:
    KEYS[1] ends     sorted set: entry id -> the moment it stops counting against the limit
    KEYS[2] entries  hash: entry id -> the entry as JSON (ledger.Entry)
    KEYS[3] total    integer: the micro-dollars of every entry in the hash, kept by every script that changes them
    KEYS[4] marker   hash: `epoch` (a random id written with the first reservation), `acknowledged` ('1' once an
                     operator accepted a reset) and `until` (the latest `ends` of any entry, so entries that vanish
                     while it is still ahead were lost, not pruned)

`now` is Redis's own `TIME` unless the caller passes one (tests only): replicas whose clocks disagree still agree on
the window. Lua turns numbers into strings with 14 digits and returns them to the client as truncated integers, so
every time leaves a script formatted with 17 (`num`), which round-trips a double exactly.
"""

from __future__ import annotations

from typing import Final

_PRELUDE: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local function num(x) return string.format('%.17g', x) end
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function with_times(head, reserved_at, lease_until, ends)
  return head .. ',"reserved_at":' .. reserved_at .. ',"lease_until":' .. lease_until .. ',"ends":' .. ends .. '}'
end
local function mark_until()
  if redis.call('EXISTS', KEYS[4]) == 1 then
    local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    redis.call('HSET', KEYS[4], 'until', top[2] or '0')
  end
end
-- nil and the marker's epoch (nil without one) when the ledger can be trusted, else {'lost'|'broken', cause, ...}.
local function check(known, now)
  local marker = redis.call('HMGET', KEYS[4], 'epoch', 'acknowledged', 'until')
  if not marker[1] and known ~= '' then return {'lost', 'gone'} end
  if marker[1] and known ~= '' and marker[1] ~= known and marker[2] ~= '1' then
    return {'lost', 'other', marker[1]}
  end
  local count, indexed = redis.call('HLEN', KEYS[2]), redis.call('ZCARD', KEYS[1])
  local total = tonumber(redis.call('GET', KEYS[3]) or '-1')
  if count ~= indexed then return {'broken', 'index', count, indexed} end
  if count > 0 and total < 0 then return {'broken', 'total', count} end
  if count == 0 and total > 0 then return {'broken', 'entries', string.format('%d', total)} end
  if count == 0 and tonumber(marker[3] or '0') > now then return {'broken', 'until', marker[3]} end
  return nil, marker[1]
end
"""

# ARGV: known epoch ('' if none), now ('' for TIME), a new epoch, the micros of every entry summed, limit micros, lease
# seconds, window seconds, then one or more pairs: entry id, the entry's JSON without its times (and its closing brace),
# each head holding its own micros. All the entries are written or none: the sum is checked once.
# Answers {'ok', epoch, now, lease_until, ends} or {'refused', epoch, now, <every entry's JSON>...} (so the refusal can
# say when room frees up), or check()'s answer. The running total keeps a reservation O(entries pruned + written).
RESERVE: Final = (
    _PRELUDE
    + """
if #ARGV < 9 or #ARGV % 2 ~= 1 then return redis.error_reply('RESERVE needs 7 arguments and id/entry pairs') end
local now = clock(ARGV[2])
local problem, epoch = check(ARGV[1], now)
if problem then return problem end
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[4], 'epoch', epoch, 'acknowledged', '0')
end
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', num(now))) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    total = total - cjson.decode(raw).micros
    redis.call('HDEL', KEYS[2], id)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now))
local micros = tonumber(ARGV[4])
if total + micros > tonumber(ARGV[5]) then
  redis.call('SET', KEYS[3], string.format('%d', total))
  mark_until()
  local answer = {'refused', epoch, num(now)}
  for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do table.insert(answer, raw) end
  return answer
end
local lease_until = now + tonumber(ARGV[6])
local ends = lease_until + tonumber(ARGV[7])
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], with_times(ARGV[i + 1], num(now), num(lease_until), num(ends)))
  redis.call('ZADD', KEYS[1], num(ends), ARGV[i])
end
redis.call('SET', KEYS[3], string.format('%d', total + micros))
mark_until()
return {'ok', epoch, num(now), num(lease_until), num(ends)}
"""
)

# ARGV: now ('' for TIME), window seconds, entry id, the spent entry's JSON without its times, reserved_at,
# lease_until, micros. Replaces the reservation whatever its state, or adds it back if already pruned: money was spent
# either way, so no check can refuse it. Answers the entry's `ends`.
COMMIT: Final = (
    _PRELUDE
    + """
local ends = clock(ARGV[1]) + tonumber(ARGV[2])
local raw = redis.call('HGET', KEYS[2], ARGV[3])
local before = raw and cjson.decode(raw).micros or 0
redis.call('HSET', KEYS[2], ARGV[3], with_times(ARGV[4], ARGV[5], ARGV[6], num(ends)))
redis.call('ZADD', KEYS[1], num(ends), ARGV[3])
redis.call('INCRBY', KEYS[3], string.format('%d', tonumber(ARGV[7]) - before))
mark_until()
return num(ends)
"""
)

# ARGV: entry id. Only a reservation still in flight can be given back; a committed spend stays.
RELEASE: Final = (
    _PRELUDE
    + """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if raw then
  local entry = cjson.decode(raw)
  if entry.state == 'reserved' then
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('INCRBY', KEYS[3], string.format('%d', -entry.micros))
    mark_until()
    return 1
  end
end
return 0
"""
)

# ARGV: known epoch, now ('' for TIME). Reads only. Answers {'ok', epoch or '', now, live micros, the part reserved
# under a running lease, the earliest live end or ''} or check()'s answer: summed here, so a busy day's thousands of
# entries never cross the wire (4,250 took 75 ms to send and parse in Python).
STATUS: Final = (
    _PRELUDE
    + """
local now = clock(ARGV[2])
local problem, epoch = check(ARGV[1], now)
if problem then return problem end
local total, reserved = 0, 0
for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
  local entry = cjson.decode(raw)
  if entry.ends > now then
    total = total + entry.micros
    if entry.state == 'reserved' and entry.lease_until > now then reserved = reserved + entry.micros end
  end
end
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. num(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {'ok', epoch or '', num(now), string.format('%d', total), string.format('%d', reserved), first[2] or ''}
"""
)

# ARGV: the new epoch, now ('' for TIME). The operator's word after a loss: what aged out goes, the index and the total
# are rebuilt from the entries that are left, and the new epoch is marked acknowledged, so every replica adopts it.
# Answers {the epoch before ('' if none), entries kept, their micros}.
ACKNOWLEDGE: Final = (
    _PRELUDE
    + """
local now = clock(ARGV[2])
local before = redis.call('HGET', KEYS[4], 'epoch') or ''
local all = redis.call('HGETALL', KEYS[2])
local total, count = 0, 0
redis.call('DEL', KEYS[1])
for i = 1, #all, 2 do
  local entry = cjson.decode(all[i + 1])
  if entry.ends > now then
    redis.call('ZADD', KEYS[1], num(entry.ends), all[i])
    total = total + entry.micros
    count = count + 1
  else
    redis.call('HDEL', KEYS[2], all[i])
  end
end
redis.call('SET', KEYS[3], string.format('%d', total))
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], 'epoch', ARGV[1], 'acknowledged', '1')
mark_until()
return {before, count, string.format('%d', total)}
"""
)
