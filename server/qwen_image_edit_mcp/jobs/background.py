"""Work that outlives the tool call that started it: a task's jobs, followed to their end after the call answered.

The server's lifespan owns one task group (`serving`); each run is registered under its task id while it goes on,
with its own cancel scope (tasks/cancel stops it), an event set when it ended, and the last thing it reported (a
status message for tasks/get). A run never raises into the group: one run's fault must not stop the server or the
others. When the server stops, the runs are cancelled; their jobs go on at WaveSpeed and any process that shares the
store finishes them from the task book (surface/tasks/).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

log = logging.getLogger(__name__)


@dataclass
class LocalRun:
    """One run going on in this process."""

    task_id: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ended: anyio.Event = field(default_factory=anyio.Event)
    message: str | None = None  # the last progress it reported


class Background:
    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self._runs: dict[str, LocalRun] = {}

    @asynccontextmanager
    async def serving(self) -> AsyncGenerator[Background]:
        """Accept runs until the block ends; then cancel those still going (their jobs are not lost: see above)."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._group = None
                group.cancel_scope.cancel()

    @property
    def accepting(self) -> bool:
        return self._group is not None

    def start(self, run: LocalRun, work: Callable[[LocalRun], Awaitable[None]]) -> None:
        """Run `work` in the background under `run`'s cancel scope. Raises RuntimeError when not serving."""
        group = self._group
        if group is None:
            raise RuntimeError("background work is not accepted outside the server's lifespan")
        self._runs[run.task_id] = run
        group.start_soon(self._contained, run, work)

    def rename(self, run: LocalRun, task_id: str) -> None:
        """The run is known by `task_id` from now on (its task's id, once the first submit answered)."""
        if self._runs.get(run.task_id) is run:
            del self._runs[run.task_id]
        run.task_id = task_id
        self._runs[task_id] = run

    def find(self, task_id: str) -> LocalRun | None:
        return self._runs.get(task_id)

    async def _contained(self, run: LocalRun, work: Callable[[LocalRun], Awaitable[None]]) -> None:
        try:
            with run.scope:
                await work(run)
        except Exception:  # logged here: a run's fault ends that run, never the server
            log.exception("background run for task %s failed", run.task_id)
        finally:
            run.ended.set()
            if self._runs.get(run.task_id) is run:
                del self._runs[run.task_id]
