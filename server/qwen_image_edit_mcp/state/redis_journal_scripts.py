"""The job journal's Lua scripts (redis_journal.py runs them). Each one runs without any other command interleaved,
so a read and the write it decides are one atomic step, for every replica at once.

Every script gets the journal's six keys (redis_journal.JOURNAL_KEYS), all under one hash tag so a Redis Cluster
keeps them in one slot: KEYS[1] jobs, KEYS[2] created, KEYS[3] predictions, KEYS[4] prediction-of, KEYS[5] composites,
KEYS[6] outputs. Those that write renew every key's expiry (ARGV[1], the keep seconds) as they go.
"""

from __future__ import annotations

from typing import Final

_EXPIRE: Final = "for i = 1, 6 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end\n"
# ARGV: keep seconds, cutoff (jobs created before it go), max jobs, job id, created_at, record JSON, prediction id.
BEGIN: Final = (
    """
local function forget(id)
  local prediction = redis.call('HGET', KEYS[4], id)
  if prediction then redis.call('HDEL', KEYS[3], prediction) end
  for _, i in ipairs({1, 4, 5, 6}) do redis.call('HDEL', KEYS[i], id) end
  redis.call('ZREM', KEYS[2], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])) do forget(id) end
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do forget(id) end
end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[7], ARGV[4])
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[7])
end
"""
    + _EXPIRE
)
# ARGV: keep seconds, job id, prediction id.
STARTED: Final = (
    """
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 0 end
local before = redis.call('HGET', KEYS[4], ARGV[2])
if before and before ~= ARGV[3] then redis.call('HDEL', KEYS[3], before) end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
"""
    + _EXPIRE
)
# ARGV: prediction id. Answers {record, composite or '', outputs or ''}, or nil for a job it does not know.
GET: Final = """
local id = redis.call('HGET', KEYS[3], ARGV[1])
if not id then return false end
local record = redis.call('HGET', KEYS[1], id)
if not record then return false end
return {record, redis.call('HGET', KEYS[5], id) or '', redis.call('HGET', KEYS[6], id) or ''}
"""
# ARGV: how many to list, the most jobs to look at. Answers {prediction id, record, composite or '', outputs or ''} for
# each job submitted, newest first: the created index read from its top in batches, skipping jobs never submitted.
RECENT: Final = """
local limit, most = tonumber(ARGV[1]), tonumber(ARGV[2])
local answer, found, start = {}, 0, 0
while start < most do
  local ids = redis.call('ZREVRANGE', KEYS[2], start, math.min(start + limit, most) - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local prediction = redis.call('HGET', KEYS[4], id)
    local record = prediction and redis.call('HGET', KEYS[1], id)
    if record then
      local composite, outputs = redis.call('HGET', KEYS[5], id), redis.call('HGET', KEYS[6], id)
      for _, part in ipairs({prediction, record, composite or '', outputs or ''}) do table.insert(answer, part) end
      found = found + 1
      if found == limit then return answer end
    end
  end
  start = start + #ids
end
return answer
"""
# KEYS: the six, then one per URL. ARGV: keep seconds, prediction id or '', now, the URLs (each added once, in order).
HAND_OUT: Final = (
    """
for i = 7, #KEYS do redis.call('SET', KEYS[i], ARGV[3], 'EX', ARGV[1]) end
local id = ARGV[2] ~= '' and redis.call('HGET', KEYS[3], ARGV[2])
if not id or redis.call('HEXISTS', KEYS[1], id) == 0 then return 0 end
local raw = redis.call('HGET', KEYS[6], id)
local outputs, seen, added = raw and cjson.decode(raw) or {}, {}, false
for _, url in ipairs(outputs) do seen[url] = true end
for i = 4, #ARGV do
  if not seen[ARGV[i]] then
    table.insert(outputs, ARGV[i])
    seen[ARGV[i]], added = true, true
  end
end
if added then redis.call('HSET', KEYS[6], id, cjson.encode(outputs)) end
"""
    + _EXPIRE
)
# ARGV: keep seconds, prediction id, the composite's JSON. Answers the composite kept, or nil without a job record.
KEEP_COMPOSITE: Final = (
    """
local id = redis.call('HGET', KEYS[3], ARGV[2])
if not id or redis.call('HEXISTS', KEYS[1], id) == 0 then return false end
redis.call('HSETNX', KEYS[5], id, ARGV[3])
"""
    + _EXPIRE
    + "return redis.call('HGET', KEYS[5], id)\n"
)
