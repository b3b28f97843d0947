"""A `tools/call` that asked to run as a task: what the request said, carried from the middleware to the handler.

The middleware (calls.py) sees the request as it came, in either form, and sets `task_asked` for the call; the
edit_image handler reads it once the free checks and the consent are behind it, and, when it creates a task, leaves
the task here for the middleware to answer with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from mcp.server.session import ServerSession

from ...state.tasks import TaskRecord

TASKS_EXTENSION: Final = "io.modelcontextprotocol/tasks"
RELATED_TASK: Final = "io.modelcontextprotocol/related-task"
CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
TASKS_PROTOCOL_VERSION: Final = "2025-11-25"  # the one handshake version with tasks in its core
TaskForm = Literal["2025-11-25", "extension"]


@dataclass
class TaskAsk:
    form: TaskForm
    ttl_ms: int | None  # what the client asked for (2025-11-25 only)
    scope: str  # whose task it will be (see `task_scope`)
    progress_token: str | int | None  # the call's, which stays valid for the task's life (2025-11-25)
    session: ServerSession  # for progress after the call answered (2025-11-25, where the connection allows)
    created: TaskRecord | None = None  # set by the handler when the call became a task


task_asked: ContextVar[TaskAsk | None] = ContextVar("task_asked", default=None)


def task_scope(request: object | None) -> str:
    """The authorization context a task belongs to: the bearer token's digest over HTTP (never the token), anyone
    reaching an HTTP server that has no token, and the process's own store over stdio."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return "local"
    value = str(cast(Mapping[str, Any], headers).get("authorization") or "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "bearer:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "http"


def meta_of(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = (params or {}).get("_meta")
    return cast(Mapping[str, Any], meta) if isinstance(meta, Mapping) else {}


def declares_tasks_extension(params: Mapping[str, Any] | None) -> bool:
    """Whether a 2026-07-28 request declared the tasks extension in its own capabilities (its `_meta`)."""
    capabilities = meta_of(params).get(CLIENT_CAPABILITIES)
    extensions = cast(Mapping[str, Any], capabilities).get("extensions") if isinstance(capabilities, Mapping) else None
    return isinstance(extensions, Mapping) and TASKS_EXTENSION in extensions
