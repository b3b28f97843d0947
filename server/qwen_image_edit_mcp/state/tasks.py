"""The task book: every MCP task this deployment created, kept in the store so that any replica, and this one after
a restart, answers for it.

A task is one `edit_image` call a task-capable host ran as a task (surface/tasks/). Its id is the call's first
prediction id (ours, `job-…`, when no prediction id is known but a job may exist). It holds what the call's paid
jobs are (each variation's prediction id, seed and cost, or why none is known), its status, and, once it ended, the
call's whole result as it went on the wire, so that a task whose jobs finished long ago is still answered from here
until it expires.

Tasks belong to a scope, the authorization context that created them (a bearer token's digest, or the process's own
store over stdio): a read from another scope finds nothing. A task's status is `working` until it settles once, to
`completed`, `failed` or `cancelled`; the first settlement wins in every backend, and a settled task never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

TaskStatus = Literal["working", "completed", "failed", "cancelled"]
TERMINAL: Final = frozenset({"completed", "failed", "cancelled"})

HOUR: Final = 3600.0
# A task lives from its creation for its TTL: what the client asked, held between these bounds. A paid job is worth
# an hour at least, and WaveSpeed keeps a prediction's outputs for 7 days, after which there is nothing to return.
MIN_TASK_TTL_SECONDS: Final = HOUR
MAX_TASK_TTL_SECONDS: Final = 7 * 24 * HOUR
DEFAULT_TASK_TTL_SECONDS: Final = 24 * HOUR
MAX_TASKS_PER_SCOPE: Final = 1000  # the oldest go first beyond this
TASK_PAGE_SIZE: Final = 20  # tasks/list answers at most this many per page


def task_ttl_seconds(requested_ms: int | None) -> float:
    """The TTL a task gets for what the client asked (milliseconds, or None for the default)."""
    if requested_ms is None:
        return DEFAULT_TASK_TTL_SECONDS
    return min(max(requested_ms / 1000, MIN_TASK_TTL_SECONDS), MAX_TASK_TTL_SECONDS)


class TaskJob(BaseModel):
    """One paid run of the task's call: its prediction id once WaveSpeed answered with one; else why no id is known
    and whether a job may exist anyway."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prediction_id: str | None
    seed: int
    cost_usd: Decimal
    failure: str | None = None
    maybe_created: bool = False


class TaskRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    scope: str
    created_at: float  # Unix seconds
    updated_at: float
    ttl_seconds: float
    model_id: str
    jobs: list[TaskJob] = Field(min_length=1)
    status: TaskStatus = "working"
    status_message: str | None = None
    result: dict[str, Any] | None = None  # the call's result as on the wire (a CallToolResult), once it ended

    @property
    def expires_at(self) -> float:
        return self.created_at + self.ttl_seconds

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def prediction_ids(self) -> list[str]:
        return [job.prediction_id for job in self.jobs if job.prediction_id is not None]


class TaskBook(Protocol):
    async def add(self, record: TaskRecord) -> bool:
        """Keep a new task until it expires; False, changing nothing, when a live task of that scope has its id
        already (an id reused upstream must not overwrite a task). Raises StoreUnavailable."""
        ...

    async def get(self, scope: str, task_id: str) -> TaskRecord | None:
        """The task, unless it expired, was never made or belongs to another scope."""
        ...

    async def settle(self, scope: str, task_id: str, change: Mapping[str, Any]) -> TaskRecord | None:
        """Apply `change` (status, status_message, result, updated_at) to a task still `working` and return it; a
        task that settled already is returned as it is (the first settlement wins). None when there is no task."""
        ...

    async def page(self, scope: str, before: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        """The scope's live tasks, newest `created_at` first (ties by task id, descending), only those strictly
        before `before` (a `(created_at, task_id)` pair) when given; at most `limit`."""
        ...
