"""The task methods, one extension for both forms (the viewer's Apps extension is the model for the binding).

    tasks/get      2025-11-25: the task          extension: the task, with the call's result once it ended
    tasks/result   2025-11-25: the call's result, once the task ended (it waits, bounded)
    tasks/list     2025-11-25: the scope's tasks, newest first, a page at a time
    tasks/cancel   2025-11-25: the cancelled task  extension: an empty acknowledgement
    tasks/update   extension: an acknowledgement (this server never asks for input during a task)

Every method finds only the caller's own tasks (asked.py's scope). In the extension form a request must declare the
extension in its own capabilities (-32021 otherwise) and, over HTTP, an `Mcp-Name` header must match its taskId.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, cast

from mcp.server.context import ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp.types import INVALID_PARAMS, CallToolResult
from mcp_types import PaginatedRequestParams, RequestParams
from mcp_types.jsonrpc import HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from ...jobs.runtime import Runtime
from ...state.tasks import TaskRecord
from .asked import RELATED_TASK, TASKS_EXTENSION, TASKS_PROTOCOL_VERSION, declares_tasks_extension, task_scope
from .desk import TaskDesk
from .wire import task_2025, task_extension

LEGACY: Final = frozenset({TASKS_PROTOCOL_VERSION})
MAX_TASK_ID: Final = 200
MAX_HANDED_NOTES: Final = 1000
MODERN: Final = frozenset(MODERN_PROTOCOL_VERSIONS)
# What a result handed out is shown to (the viewer notes the URLs in it, as it does for a tool call's result).
Noting = Callable[[Runtime, CallToolResult], Awaitable[None]]


class TaskIdParams(RequestParams):
    task_id: str = Field(max_length=MAX_TASK_ID)  # ours are a prediction id or `unknown-` and 32 hex digits


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, Any] | None = None


class Tasks(Extension):
    identifier = TASKS_EXTENSION

    def __init__(self, noting: Noting | None = None) -> None:
        self._desk = TaskDesk()
        self._noting = noting
        self._handed: dict[str, None] = {}  # the tasks whose result was handed out here, oldest first

    def methods(self) -> Sequence[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskIdParams, self._get, protocol_versions=LEGACY | MODERN),
            MethodBinding("tasks/result", TaskIdParams, self._result, protocol_versions=LEGACY),
            MethodBinding("tasks/list", PaginatedRequestParams, self._list, protocol_versions=LEGACY),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel, protocol_versions=LEGACY | MODERN),
            MethodBinding("tasks/update", UpdateTaskParams, self._update, protocol_versions=MODERN),
        ]

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        runtime, scope = _checked(ctx, params.task_id)
        record = await self._desk.current(runtime, scope, params.task_id)
        poll = self._desk.poll_ms(runtime, record)
        if ctx.protocol_version in LEGACY:
            return task_2025(record, poll)
        await self._hand_out(runtime, record)
        return {"resultType": "complete", **task_extension(record, poll, detailed=True)}

    async def _result(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        runtime, scope = _checked(ctx, params.task_id)
        record = await self._desk.ended(runtime, scope, params.task_id)
        if record.status == "cancelled" or record.result is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Task {record.task_id} has no result: {record.status_message}")
        await self._hand_out(runtime, record)
        # As the call itself would have answered on this era's wire (which has no resultType), with the task's id.
        answer = {key: value for key, value in record.result.items() if key != "resultType"}
        meta = {**cast(dict[str, Any], answer.get("_meta") or {}), RELATED_TASK: {"taskId": record.task_id}}
        return {**answer, "_meta": meta}

    async def _list(self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams) -> dict[str, Any]:
        runtime, scope = cast(Runtime, ctx.lifespan_context), task_scope(ctx.request)
        records, cursor = await self._desk.page(runtime, scope, params.cursor)
        tasks = [task_2025(record, self._desk.poll_ms(runtime, record)) for record in records]
        return {"tasks": tasks, "nextCursor": cursor} if cursor else {"tasks": tasks}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        runtime, scope = _checked(ctx, params.task_id)
        record, cancelled = await self._desk.cancel(runtime, scope, params.task_id)
        if ctx.protocol_version not in LEGACY:
            return {"resultType": "complete"}  # an acknowledgement, whatever the task had come to
        if not cancelled:
            message = f"Cannot cancel task: already in terminal status '{record.status}'"
            raise MCPError(code=INVALID_PARAMS, message=message)
        return task_2025(record, None)

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        runtime, scope = _checked(ctx, params.task_id)
        await self._desk.stored(runtime, scope, params.task_id)  # an unknown task is an error; input is never asked
        return {"resultType": "complete"}

    async def _hand_out(self, runtime: Runtime, record: TaskRecord) -> None:
        """Let the viewer show what an ended task's result hands out: once per task in this process (a host polls
        tasks/get again and again), the oldest forgotten first beyond a bound."""
        if self._noting is None or record.result is None or record.task_id in self._handed:
            return
        await self._noting(runtime, CallToolResult.model_validate(record.result))
        self._handed[record.task_id] = None
        while len(self._handed) > MAX_HANDED_NOTES:
            del self._handed[next(iter(self._handed))]


def _checked(ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[Runtime, str]:
    """The runtime and the caller's scope, once the extension form's own rules are met."""
    if ctx.protocol_version in MODERN:
        if not declares_tasks_extension(ctx.params):
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message=f"Missing required client capability: declare {TASKS_EXTENSION} in this request's _meta",
                data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
            )
        headers = getattr(ctx.request, "headers", None)
        if headers is not None:  # over HTTP, where routing reads the header: it must be there, and name the task
            named = headers.get(MCP_NAME_HEADER)
            if named is None or decode_header_value(named) != task_id:
                raise MCPError(code=HEADER_MISMATCH, message="The Mcp-Name header must be the request's taskId")
    return cast(Runtime, ctx.lifespan_context), task_scope(ctx.request)
