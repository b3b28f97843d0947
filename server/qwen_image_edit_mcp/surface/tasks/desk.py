"""Answering for tasks, whichever process created them: read, wait for the end, cancel, list.

A task still working is answered from the run following it when that run is in this process; otherwise (another
replica made it, or this process restarted) its jobs are read at WaveSpeed, at most once per poll interval per task
and one look at a time, and the task is settled the moment they ended. What WaveSpeed cannot do is said as it is:
it has no way to cancel a prediction, so a cancelled task's job runs on and may be charged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import anyio
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS

from ...config import MAX_WAIT_SECONDS
from ...jobs.journal import LOOKUP_SECONDS
from ...jobs.runtime import Runtime
from ...state.store import StoreUnavailable
from ...state.tasks import TASK_PAGE_SIZE, TaskRecord
from .results import look, settlement
from .wire import poll_interval_ms

LOOK_SECONDS: Final = 30.0  # one look at a task's jobs (reads, and a masked job's composite) takes at most this
MAX_LOOK_WAIT: Final = 60.0  # tasks/result waits in looks of at most this, so that a cancel is seen between them
_KEEP_LOOK_NOTES: Final = 1000
MAX_CURSOR: Final = 400  # ours: a time and a task id (at most 200 characters), in JSON, in base64


@dataclass
class _Looks:
    """When each task was last looked at in this process, and one lock per task, so that a host polling fast (or
    several hosts) makes one request per poll interval to WaveSpeed, not one per tasks/get."""

    last: dict[str, float] = field(default_factory=dict[str, float])
    locks: dict[str, anyio.Lock] = field(default_factory=dict[str, anyio.Lock])

    def lock(self, task_id: str) -> anyio.Lock:
        if len(self.locks) > _KEEP_LOOK_NOTES:  # forget the oldest idle notes: a later look is merely made again
            for stale in list(self.locks)[: _KEEP_LOOK_NOTES // 2]:
                if not self.locks[stale].locked():  # a look going on keeps its lock, so no second one starts
                    self.locks.pop(stale, None)
                    self.last.pop(stale, None)
        return self.locks.setdefault(task_id, anyio.Lock())


def not_found(task_id: str) -> MCPError:
    """One answer for a task never made, expired, or another scope's: nothing to learn about others' tasks."""
    return MCPError(code=INVALID_PARAMS, message=f"Failed to retrieve task: task {task_id} not found (or expired)")


class TaskDesk:
    def __init__(self) -> None:
        self._looks = _Looks()

    def poll_ms(self, runtime: Runtime, record: TaskRecord) -> int:
        return poll_interval_ms(runtime.wall_clock() - record.created_at, runtime.durations.window())

    async def stored(self, runtime: Runtime, scope: str, task_id: str) -> TaskRecord:
        try:
            with anyio.fail_after(LOOKUP_SECONDS):
                record = await runtime.store.tasks.get(scope, task_id)
        except (StoreUnavailable, TimeoutError) as exc:
            raise MCPError(code=INTERNAL_ERROR, message=f"The task book cannot be read just now: {exc}") from None
        if record is None:
            raise not_found(task_id)
        return record

    async def current(self, runtime: Runtime, scope: str, task_id: str) -> TaskRecord:
        """The task as it stands now: settled from a fresh look at its jobs when they ended."""
        record = await self.stored(runtime, scope, task_id)
        if record.terminal:
            return record
        local = runtime.background.find(task_id)
        if local is not None:
            return record.model_copy(update={"status_message": local.message or record.status_message})
        async with self._looks.lock(task_id):
            due = self._looks.last.get(task_id, float("-inf")) + self.poll_ms(runtime, record) / 2000
            if runtime.clock.now() < due:
                return await self.stored(runtime, scope, task_id)
            return await self._look(runtime, record, wait_seconds=0.0)

    async def _look(self, runtime: Runtime, record: TaskRecord, *, wait_seconds: float) -> TaskRecord:
        with anyio.move_on_after(LOOK_SECONDS + wait_seconds):
            looked = await look(runtime, record, wait_seconds=wait_seconds)
            self._looks.last[record.task_id] = runtime.clock.now()
            if not looked.over:
                return record.model_copy(update={"status_message": looked.message})
            ended = settlement(looked.runs, model_id=record.model_id, resume_wait=runtime.resume_wait)
            change = ended.change(runtime.wall_clock())
            with anyio.fail_after(LOOKUP_SECONDS):
                settled = await runtime.store.tasks.settle(record.scope, record.task_id, change)
            return settled or record
        return record

    async def ended(self, runtime: Runtime, scope: str, task_id: str) -> TaskRecord:
        """The task once it ended: what `tasks/result` waits for, at most MAX_WAIT_SECONDS (a call's longest wait)."""
        deadline = runtime.clock.now() + MAX_WAIT_SECONDS
        record = await self.current(runtime, scope, task_id)
        while not record.terminal:
            left = deadline - runtime.clock.now()
            if left <= 0:
                raise MCPError(
                    code=INTERNAL_ERROR,
                    message=f"Task {task_id} is still working after {MAX_WAIT_SECONDS:g} s; its job goes on at "
                    "WaveSpeed. Call tasks/result again, or poll tasks/get.",
                )
            local = runtime.background.find(task_id)
            if local is not None:
                with anyio.move_on_after(left):
                    await local.ended.wait()
                record = await self.stored(runtime, scope, task_id)
                continue
            async with self._looks.lock(task_id):
                record = await self._look(runtime, record, wait_seconds=min(left, MAX_LOOK_WAIT))
            if not record.terminal:  # settled elsewhere meanwhile (cancelled, say)?
                record = await self.stored(runtime, scope, task_id)
        return record

    async def cancel(self, runtime: Runtime, scope: str, task_id: str) -> tuple[TaskRecord, bool]:
        """Stop following the task's jobs. Returns the task and whether this call cancelled it (False: it had ended)."""
        record = await self.stored(runtime, scope, task_id)
        if record.terminal:
            return record, False
        message, now = cancelled_message(record), runtime.wall_clock()
        change = {"status": "cancelled", "status_message": message, "updated_at": now}
        with anyio.fail_after(LOOKUP_SECONDS):
            settled = await runtime.store.tasks.settle(scope, task_id, change) or record
        local = runtime.background.find(task_id)
        if local is not None:
            local.scope.cancel()
        return settled, settled.status == "cancelled"

    async def page(self, runtime: Runtime, scope: str, cursor: str | None) -> tuple[list[TaskRecord], str | None]:
        before = _decoded(cursor) if cursor else None
        with anyio.fail_after(LOOKUP_SECONDS):
            records = await runtime.store.tasks.page(scope, before, TASK_PAGE_SIZE + 1)
        shown = records[:TASK_PAGE_SIZE]
        more = len(records) > TASK_PAGE_SIZE
        return shown, _encoded(shown[-1]) if more and shown else None


def cancelled_message(record: TaskRecord) -> str:
    ids = record.prediction_ids
    cost = sum((job.cost_usd for job in record.jobs), start=Decimal(0))
    read = " ".join(f'get_prediction(prediction_id="{pid}")' for pid in ids)
    return (
        "Cancelled: this server stopped following the task. WaveSpeed offers no way to cancel a prediction, so "
        f"{_jobs(ids)} runs on and may still be charged (up to ${cost}). "
        + (f"Its result can still be read: {read}." if ids else "")
    ).strip()


def _jobs(ids: Sequence[str]) -> str:
    if not ids:
        return "any job the submit may have created"
    return f"prediction {ids[0]}" if len(ids) == 1 else "predictions " + ", ".join(ids)


def _encoded(record: TaskRecord) -> str:
    return base64.urlsafe_b64encode(json.dumps([record.created_at, record.task_id]).encode()).decode()


def _decoded(cursor: str) -> tuple[float, str]:
    """The position a cursor of ours names; anything else (or longer than any of ours) is refused before parsing."""
    refusal = MCPError(code=INVALID_PARAMS, message="Invalid tasks/list cursor: pass back nextCursor as given")
    if len(cursor) > MAX_CURSOR:
        raise refusal
    try:
        created, task_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(created), str(task_id)
    except (ValueError, TypeError, RecursionError) as exc:
        raise refusal from exc
