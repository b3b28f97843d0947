"""A task as each form puts it on the wire.

2025-11-25 (experimental): `{taskId, status, statusMessage, createdAt, lastUpdatedAt, ttl, pollInterval}`, nested as
`{task: ...}` in the answer to the task-augmented call; a call whose result is an error is a `failed` task, and
`tasks/result` returns that result.

2026-07-28 tasks extension: the same fields flat, as `ttlMs` and `pollIntervalMs`, with `resultType: "task"` on the
call's answer; `tasks/get` inlines the result of an ended task. There a tool result with `isError: true` is a
`completed` task (the extension keeps `failed` for JSON-RPC errors, which a paid edit never ends in), so a task this
server stores as failed goes out as completed with its error result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from ...jobs.schedule import FinishWindow, PollSchedule
from ...state.tasks import TaskRecord

MIN_POLL_MS: Final = 500  # a host polls over the network: never more often than twice a second
MAX_POLL_MS: Final = 5000
_SCHEDULE: Final = PollSchedule()


def poll_interval_ms(age: float, window: FinishWindow | None) -> int:
    """When to look again, from the learned poll schedule (jobs/schedule.py) for a job this old, held to what a host
    polling over the network should do."""
    return int(min(max(_SCHEDULE.delay(age, window) * 1000, MIN_POLL_MS), MAX_POLL_MS))


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _common(record: TaskRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "taskId": record.task_id,
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.updated_at),
    }
    if record.status_message:
        fields["statusMessage"] = record.status_message
    return fields


def task_2025(record: TaskRecord, poll_ms: int | None) -> dict[str, Any]:
    """The 2025-11-25 `Task`."""
    task = {**_common(record), "status": record.status, "ttl": round(record.ttl_seconds * 1000)}
    if poll_ms is not None and not record.terminal:
        task["pollInterval"] = poll_ms
    return task


def task_extension(record: TaskRecord, poll_ms: int | None, *, detailed: bool) -> dict[str, Any]:
    """The extension's `Task`; `detailed` adds what `tasks/get` inlines for an ended task (its `result`)."""
    status = "completed" if record.status == "failed" else record.status
    task = {**_common(record), "status": status, "ttlMs": round(record.ttl_seconds * 1000)}
    if poll_ms is not None and not record.terminal:
        task["pollIntervalMs"] = poll_ms
    if detailed and status == "completed" and record.result is not None:
        task["result"] = record.result
    return task
