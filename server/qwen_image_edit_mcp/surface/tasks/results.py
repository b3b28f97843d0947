"""What a task's jobs came to: the call's result, rendered exactly as edit_image renders it, and the task's status.

Two ways lead here. The process that started the call follows its jobs to their end (launch.py) and renders the
runs `start_all` returned. Any other process, or this one after a restart, reads the jobs once at WaveSpeed through
the same read use case `get_prediction` uses (a masked job is composited from the journal's record), and renders the
same way. A task is over when every job with an id completed or failed; a job still running, or one this server
lost contact with, keeps it working, and the next look tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
from mcp.types import CallToolResult, TextContent

from ...jobs.outcome import Completed, Failed, NoPrediction, Outcome
from ...jobs.read import run_read
from ...jobs.runtime import Runtime
from ...jobs.start import Variation, sharing
from ...state.tasks import TaskJob, TaskRecord, TaskStatus
from ..rendering import render
from ..variations import render_variations

MAX_STATUS_MESSAGE: int = 300


@dataclass(frozen=True)
class Settlement:
    """A task's end: its status (failed when the call's result is an error, as 2025-11-25 asks), a line about it,
    and the result as it goes on the wire."""

    status: TaskStatus
    message: str
    result: dict[str, Any]

    def change(self, now: float) -> dict[str, Any]:
        return {"status": self.status, "status_message": self.message, "result": self.result, "updated_at": now}


def call_result(runs: Sequence[Variation], *, model_id: str, resume_wait: float) -> CallToolResult:
    """What edit_image returns for these runs: one edit as `render` says it, several as `render_variations` does,
    and a lone submit that got no id as the tool error the handler would have raised."""
    if len(runs) > 1:
        return render_variations(runs, model_id=model_id, resume_wait=resume_wait)
    (run,) = runs
    if run.outcome is None:
        return CallToolResult(content=[TextContent(type="text", text=run.failure or "")], is_error=True)
    return render(run.outcome, resume_wait=resume_wait)


def over(runs: Sequence[Variation]) -> bool:
    """Every job that exists completed or failed (a job whose submit got no id has nothing more to tell)."""
    return all(run.outcome is None or isinstance(run.outcome, Completed | Failed) for run in runs)


def settlement(runs: Sequence[Variation], *, model_id: str, resume_wait: float) -> Settlement:
    result = call_result(runs, model_id=model_id, resume_wait=resume_wait)
    return Settlement(
        status="failed" if result.is_error else "completed",
        message=_first_line(result),
        result=result.model_dump(by_alias=True, mode="json", exclude_none=True),
    )


def working_message(runs: Sequence[Variation]) -> str:
    """What is going on while the task works: each job still running, with its status or why it could not be read."""
    parts: list[str] = []
    for run in runs:
        outcome = run.outcome
        if outcome is not None and not isinstance(outcome, Completed | Failed):
            parts.append(f"prediction {outcome.prediction_id} is {outcome.prediction.status}")
    return ("WaveSpeed is running the edit: " + "; ".join(parts)) if parts else "WaveSpeed is running the edit"


@dataclass(frozen=True)
class Looked:
    """The jobs as one look found them; `unreadable` says why any job with an id could not be read just now."""

    runs: list[Variation]
    unreadable: list[str]

    @property
    def over(self) -> bool:
        return not self.unreadable and over(self.runs)

    @property
    def message(self) -> str:
        return "; ".join([working_message(self.runs), *self.unreadable])


async def look(runtime: Runtime, record: TaskRecord, *, wait_seconds: float = 0.0) -> Looked:
    """Each of the task's jobs, read at WaveSpeed once (waiting up to `wait_seconds` for them to end), side by side,
    each with its share of the inline preview budget as the call had it."""
    each = sharing(runtime, len(record.jobs))
    runs: list[Variation] = [Variation(job.seed, job.cost_usd) for job in record.jobs]
    unreadable: list[str] = []

    async def read(index: int, job: TaskJob) -> None:
        if job.prediction_id is None:
            runs[index] = Variation(job.seed, job.cost_usd, failure=job.failure, maybe_created=job.maybe_created)
            return
        try:
            outcome: Outcome = await run_read(each, job.prediction_id, wait_seconds, _quiet)
        except NoPrediction as exc:  # unreadable just now: the job is still known, and so still followed
            unreadable.append(exc.message)
            return
        runs[index] = Variation(job.seed, job.cost_usd, replace(outcome, cost_usd=job.cost_usd))

    async with anyio.create_task_group() as group:
        for index, job in enumerate(record.jobs):
            group.start_soon(read, index, job)
    return Looked(runs, unreadable)


async def _quiet(message: str) -> None:
    """A look made for a tasks/get tells nobody: the answer is the task's status."""


def _first_line(result: CallToolResult) -> str:
    first = next((block.text for block in result.content if isinstance(block, TextContent)), "")
    line = first.strip().splitlines()[0] if first.strip() else ""
    return line if len(line) <= MAX_STATUS_MESSAGE else line[: MAX_STATUS_MESSAGE - 1] + "…"
