"""The task book in the Redis store (redis.py holds the clients). Each scope has its own keys under one hash tag:

    qwen-image-edit-mcp:{tasks:<scope>}:task:<task id>   the TaskRecord as JSON, expiring when the task does
    qwen-image-edit-mcp:{tasks:<scope>}:index            sorted set: task id by created_at, for pages and the cap
    qwen-image-edit-mcp:{tasks:<scope>}:expires          sorted set: task id by when it expires, to prune by the
                                                         store's clock (which a test may set apart from Redis's)

A scope that could break the hash tag's syntax (`{`, `}`) goes by `#` and its SHA-256, which no literal scope can
look like. Each change is one Lua script over the scope's keys, all in one Cluster slot; the scripts that prune name
the record keys of the tasks they drop from the same prefix, inside the same hash tag, so they stay in that slot.
Every time is the store's clock (as the journal's); a record key expires by Redis's clock as a backstop, set from
the time it has left, so a clock that is not Redis's cannot make it vanish early.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, Final, cast

import anyio.to_thread

from .redis_journal import RedisAccess
from .sqlite_tasks import settled
from .tasks import MAX_TASKS_PER_SCOPE, TaskRecord

TASKS_PREFIX: Final = "qwen-image-edit-mcp:{tasks:"

# Every script gets KEYS[1] index, KEYS[2] expires (and KEYS[3] the task's own key when it has one); ARGV[1] is the
# prefix of the scope's record keys, ARGV[2] now.
_PRELUDE: Final = """
local prefix, now = ARGV[1], tonumber(ARGV[2])
local function forget(id)
  redis.call('DEL', prefix .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
"""
# ARGV: prefix, now, max tasks, task id, created_at, expires, milliseconds left, the record's JSON. Expired tasks go
# first, then the oldest beyond the cap (the new one too, were it the oldest), as SQLite does.
ADD: Final = (
    _PRELUDE
    + """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do forget(id) end
if not redis.call('SET', KEYS[3], ARGV[8], 'PX', ARGV[7], 'NX') then return 0 end  -- a live task keeps its id
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[4])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do forget(id) end
end
for i = 1, 2 do  -- the sorted sets live as long as their longest-lived task
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[7]) then redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
end
return 1
"""
)
# ARGV: prefix, now, limit, the cursor's created_at ('' for the first page), the cursor's task id. Answers the live
# records newest first (ties by task id, descending, as ZREVRANGE orders them); ids found dead are forgotten.
PAGE: Final = (
    _PRELUDE
    + """
local function below(a, b)  -- a < b byte by byte, as SQLite compares text (Lua's own < follows the locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local limit, top = tonumber(ARGV[3]), ARGV[4]
local answer, dead, offset = {}, {}, 0
while #answer < limit do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], top == '' and '+inf' or top, '-inf', 'WITHSCORES',
    'LIMIT', offset, limit)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local id = batch[i]
    if top == '' or tonumber(batch[i + 1]) < tonumber(top) or below(id, ARGV[5]) then
      local record = tonumber(redis.call('ZSCORE', KEYS[2], id) or '0') > now and redis.call('GET', prefix .. id)
      if record then table.insert(answer, record) else table.insert(dead, id) end
      if #answer == limit then break end
    end
  end
  offset = offset + #batch / 2
end
for _, id in ipairs(dead) do forget(id) end
return answer
"""
)
# ARGV: prefix, now, the settled record's JSON. Writes it only over a live task still working, keeping the key's
# expiry; answers the record stored after, or nil without a live task.
SETTLE: Final = """
local stored = redis.call('GET', KEYS[3])
if not stored then return false end
local record = cjson.decode(stored)
if record.created_at + record.ttl_seconds <= tonumber(ARGV[2]) then return false end
if record.status ~= 'working' then return stored end
local left = redis.call('PTTL', KEYS[3])
redis.call('SET', KEYS[3], ARGV[3])
if left > 0 then redis.call('PEXPIRE', KEYS[3], left) end
return ARGV[3]
"""


def scope_prefix(scope: str) -> str:
    """The start of every key of `scope`, up to and including its hash tag."""
    name = scope if not any(c in scope for c in "{}#") else "#" + hashlib.sha256(scope.encode()).hexdigest()
    return f"{TASKS_PREFIX}{name}}}"


def _keys(scope: str, task_id: str | None = None) -> list[str]:
    prefix = scope_prefix(scope)
    own = [] if task_id is None else [f"{prefix}:task:{task_id}"]
    return [f"{prefix}:index", f"{prefix}:expires", *own]


class RedisTasks:
    def __init__(self, access: RedisAccess, *, max_tasks: int = MAX_TASKS_PER_SCOPE) -> None:
        self._access = access
        self._max_tasks = max_tasks
        client = access.text
        self._add = client.register_script(ADD)
        self._page = client.register_script(PAGE)
        self._settle = client.register_script(SETTLE)

    async def add(self, record: TaskRecord) -> bool:
        now = self._access.clock()
        left = math.ceil((record.expires_at - now) * 1000)
        if left <= 0:  # expired already: nothing could ever read it
            return False
        args: list[Any] = [_records(record.scope), repr(now), self._max_tasks, record.task_id]
        args += [repr(record.created_at), repr(record.expires_at), left, record.model_dump_json()]
        keys = _keys(record.scope, record.task_id)
        added = await self._access.run(f"recording task {record.task_id}", lambda: self._add(keys, args))
        return added == 1

    async def get(self, scope: str, task_id: str) -> TaskRecord | None:
        async def work() -> TaskRecord | None:
            raw = cast("str | None", await self._access.text.get(_keys(scope, task_id)[2]))
            found = None if raw is None else await _parsed(raw)
            # By the store's clock, not only Redis's expiry, as SQLite does.
            return found if found is not None and found.expires_at > self._access.clock() else None

        return await self._access.run(f"reading task {task_id}", work)

    async def settle(self, scope: str, task_id: str, change: Mapping[str, Any]) -> TaskRecord | None:
        record = await self.get(scope, task_id)
        if record is None or record.status != "working":
            return record
        # Merged here, so a change that makes no valid record raises before anything is written; the script writes
        # it only if the task is still working, so the first settlement wins whoever read it working.
        made = settled(record, change).model_dump_json()
        args = [_records(scope), repr(self._access.clock()), made]

        async def work() -> TaskRecord | None:
            stored = cast("str | None", await self._settle(_keys(scope, task_id), args))
            return None if stored is None else await _parsed(stored)

        return await self._access.run(f"settling task {task_id}", work)

    async def page(self, scope: str, before: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        if limit <= 0:
            return []
        cursor = ["", ""] if before is None else [repr(before[0]), before[1]]
        args: list[Any] = [_records(scope), repr(self._access.clock()), limit, *cursor]

        async def work() -> list[TaskRecord]:
            found = cast("list[str]", await self._page(_keys(scope), args))
            return [await _parsed(raw) for raw in found]

        return await self._access.run("listing tasks", work)


async def _parsed(raw: str) -> TaskRecord:
    """A record, parsed in a worker thread: an ended task holds its whole result, up to a megabyte of previews."""
    return await anyio.to_thread.run_sync(TaskRecord.model_validate_json, raw)


def _records(scope: str) -> str:
    return f"{scope_prefix(scope)}:task:"
