"""The server middleware that lets edit_image run as a task, in both forms, seeing each request as it came.

- 2025-11-25: `initialize` gains `capabilities.tasks` (list, cancel, task-augmented tools/call) and `tools/list`
  marks edit_image `execution.taskSupport: "optional"` (every other tool stays as it is: a task-augmented call to
  one of them is refused, as the spec says). A `tools/call` with `params.task` asks for a task.
- 2026-07-28: a `tools/call` whose `_meta` capabilities declare `io.modelcontextprotocol/tasks` lets the server
  choose; this server makes every paid edit it can a task then.

Either way the handler runs as for any call (free checks, the consent question, the booking); when it created a
task (launch.py), the call is answered with the task instead of its placeholder result. When it did not (a refusal,
a decline, a question still open, no job at all), the plain result goes out: a refused edit is never a task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, cast

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ...jobs.runtime import Runtime
from ...state.tasks import MAX_TASK_TTL_SECONDS
from .asked import TASKS_PROTOCOL_VERSION, TaskAsk, declares_tasks_extension, meta_of, task_asked, task_scope
from .wire import poll_interval_ms, task_2025, task_extension

TASK_TOOL: Final = "edit_image"
MAX_NAME_SHOWN: Final = 100  # a tool name echoed in a refusal, cut: it is the caller's text
IMMEDIATE_RESPONSE: Final = "io.modelcontextprotocol/model-immediate-response"
SERVER_TASKS: Final[dict[str, Any]] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}


async def task_calls(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    if ctx.method == "tools/call":
        return await _call(ctx, call_next)
    result = await call_next(ctx)
    if not isinstance(result, dict):
        return result
    answer = result
    if ctx.method == "initialize" and answer.get("protocolVersion") == TASKS_PROTOCOL_VERSION:
        capabilities = cast(dict[str, Any], answer.get("capabilities") or {})
        return {**answer, "capabilities": {**capabilities, "tasks": SERVER_TASKS}}
    if ctx.method == "tools/list" and ctx.protocol_version == TASKS_PROTOCOL_VERSION:
        tools = cast(list[Any], answer.get("tools") or [])
        return {**answer, "tools": [_optional_task(tool) for tool in tools]}
    return result


def _optional_task(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return tool
    listed = cast(dict[str, Any], tool)
    return {**listed, "execution": {"taskSupport": "optional"}} if listed.get("name") == TASK_TOOL else listed


async def _call(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    params = ctx.params or {}
    ask = _asked(ctx, params)
    if ask is None:
        return await call_next(ctx)
    if params.get("name") != TASK_TOOL:
        if ask.form == "extension":
            return await call_next(ctx)  # the server decides: this tool answers as it always does
        named = str(params.get("name"))[:MAX_NAME_SHOWN]
        message = f"{named} does not run as a task (only {TASK_TOOL} does): call it without `task`."
        raise MCPError(code=METHOD_NOT_FOUND, message=message)
    token = task_asked.set(ask)
    try:
        result = await call_next(ctx)
    finally:
        task_asked.reset(token)
    record = ask.created
    if record is None:
        return result
    runtime = cast(Runtime, ctx.lifespan_context)
    poll = poll_interval_ms(0.0, runtime.durations.window())
    if ask.form == "2025-11-25":
        ids = ", ".join(record.prediction_ids) or "unknown"
        immediate = f"The edit is running as task {record.task_id} (prediction {ids}); its result arrives when it ends."

        return {"task": task_2025(record, poll), "_meta": {IMMEDIATE_RESPONSE: immediate}}
    return {"resultType": "task", **task_extension(record, poll, detailed=False)}


def _ttl_ms(ttl: Any) -> int | None:
    """The TTL asked, in milliseconds (held to the task book's bounds later); refused unless a number >= 0."""
    if ttl is None:
        return None
    number = isinstance(ttl, int | float) and not isinstance(ttl, bool)
    if not number or (isinstance(ttl, float) and not math.isfinite(ttl)) or ttl < 0:
        raise MCPError(code=INVALID_PARAMS, message="task.ttl must be a number of milliseconds, 0 or more")
    return int(min(ttl, MAX_TASK_TTL_SECONDS * 1000))  # compared before any conversion: 10**400 is a number too


def _asked(ctx: ServerRequestContext[Any, Any], params: Mapping[str, Any]) -> TaskAsk | None:
    version = ctx.protocol_version
    if version == TASKS_PROTOCOL_VERSION and isinstance(params.get("task"), Mapping):
        form: Any = "2025-11-25"
        ttl_ms = _ttl_ms(cast(Mapping[str, Any], params["task"]).get("ttl"))
    elif version in MODERN_PROTOCOL_VERSIONS and declares_tasks_extension(params):
        form, ttl_ms = "extension", None
    else:
        return None
    token = meta_of(params).get("progressToken")
    return TaskAsk(
        form=form,
        ttl_ms=ttl_ms,
        scope=task_scope(ctx.request),
        progress_token=token if isinstance(token, str | int) and not isinstance(token, bool) else None,
        session=ctx.session,
    )
