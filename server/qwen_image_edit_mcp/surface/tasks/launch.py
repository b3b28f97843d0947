"""An edit run as a task: the paid half goes on in the background, and the task exists once every submit answered.

By the time this runs, the call passed every free check and the user's consent (the handler's resolvers), so a
refusal is never a task. `start_all` then books, uploads and submits in a background run; this call waits only for
the submits' answers:
- a refusal before any submit (the spend limit, the store, an upload) is raised here, a plain tool error;
- no job exists and none may (every submit answered "nothing created"): the call's plain error result, no task;
- otherwise the task is created, durably, in the task book, under the first prediction id (`unknown-…` when only a
  job of unknown outcome may exist: it is never sent again), and the call answers with it (calls.py).
The run goes on following the jobs (composites included) and settles the task with the very result edit_image
would have returned. If the task cannot be kept, the call answers as a plain call that stopped waiting: every id,
pending, to resume with get_prediction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import anyio
from mcp.types import CallToolResult, ProgressNotification, ProgressNotificationParams

from ...config import MAX_WAIT_SECONDS
from ...jobs.background import LocalRun
from ...jobs.journal import LOOKUP_SECONDS
from ...jobs.outcome import Pending
from ...jobs.prepare import PreparedEdit
from ...jobs.runtime import ProgressFn, Runtime
from ...jobs.start import Variation, start_all
from ...jobs.submitted import SubmitAnswer, Submitted
from ...state.tasks import TaskJob, TaskRecord, task_ttl_seconds
from .asked import RELATED_TASK, TaskAsk
from .results import call_result, over, settlement

log = logging.getLogger(__name__)

# A task's background run follows its jobs this long, as a call's longest wait; past it, reads of the task finish it.
TASK_FOLLOW_SECONDS: Final = MAX_WAIT_SECONDS
NOTIFY_SECONDS: Final = 2.0  # a progress notification to a client that stopped reading is dropped after this


def runs_as_task(runtime: Runtime, edit: PreparedEdit) -> bool:
    """Whether this edit can be a task here: sync mode holds the request open until the image is ready, which is
    the opposite of a task, so it runs as a plain call; so does everything outside a serving lifespan."""
    return runtime.background.accepting and not edit.args.enable_sync_mode


@dataclass
class _Launch:
    runs: list[Variation] | None = None
    error: Exception | None = None
    record: TaskRecord | None = None
    finished: anyio.Event = field(default_factory=anyio.Event)  # start_all returned or raised
    decided: anyio.Event = field(default_factory=anyio.Event)  # the call chose: a task, or none

    def decide(self, record: TaskRecord | None) -> None:
        self.record = record
        self.decided.set()


async def run_as_task(runtime: Runtime, edit: PreparedEdit, ask: TaskAsk, progress: ProgressFn) -> CallToolResult:
    submitted = Submitted(edit.variations)
    run = LocalRun(task_id=f"launch-{secrets.token_hex(8)}")
    launch = _Launch()
    relay = _Relay(progress, ask, run, runtime)

    async def work(run: LocalRun) -> None:
        try:
            launch.runs = await start_all(runtime, edit, relay, submitted=submitted, follow_seconds=TASK_FOLLOW_SECONDS)
        except Exception as exc:  # raised only before any submit: the call's own refusal, said by the call
            launch.error = exc
        finally:
            launch.finished.set()
        await launch.decided.wait()  # set by the call in every case, before or after this
        if launch.record is not None and launch.runs is not None:
            await _settle(runtime, launch.record, launch.runs)

    runtime.background.start(run, work)
    try:
        await _first(submitted.all_answered, launch.finished, run.ended)
    except BaseException:  # the call was cancelled before every submit answered: so is its paid half, as ever
        run.scope.cancel()
        launch.decide(None)
        raise
    return await _decide(runtime, edit, ask, run, launch, submitted)


async def _decide(
    runtime: Runtime, edit: PreparedEdit, ask: TaskAsk, run: LocalRun, launch: _Launch, submitted: Submitted
) -> CallToolResult:
    try:
        if launch.error is not None or not submitted.all_answered.is_set():
            raise launch.error or RuntimeError("the edit ended before its submit was answered")
        answers = submitted.known()
        if not any(answer.prediction is not None or answer.maybe_created for answer in answers):
            launch.decide(None)
            await run.ended.wait()  # nothing to follow: the run ends at once
            return call_result(launch.runs or [], model_id=edit.model.model_id, resume_wait=runtime.resume_wait)
        # A job exists (or may): the task is kept whatever happens to the call now, so that tasks/list finds it
        # even when the call was cancelled meanwhile; the write is bounded.
        record: TaskRecord | None = None
        with anyio.CancelScope(shield=True):
            record = await _kept(runtime, edit, ask, answers)
        if record is None:
            run.scope.cancel()
            return _pending(runtime, edit, answers)  # no task: every id, pending, as a plain call that stopped waiting
        runtime.background.rename(run, record.task_id)
        ask.created = record
        launch.decide(record)
        log.info("edit_image runs as task %s (%d job(s))", record.task_id, len(record.prediction_ids))
        return _pending(
            runtime, edit, answers
        )  # what the call would say, had it stopped waiting: calls.py sends the task
    finally:
        if not launch.decided.is_set():  # the run waits for this, whatever the call came to
            launch.decide(None)


async def _kept(runtime: Runtime, edit: PreparedEdit, ask: TaskAsk, answers: list[SubmitAnswer]) -> TaskRecord | None:
    """The task, kept in the task book; None when it could not be (the call then answers without a task)."""
    try:
        record = _record(runtime, edit, ask, answers)
        with anyio.fail_after(LOOKUP_SECONDS):
            added = await runtime.store.tasks.add(record)
    except Exception as exc:  # StoreUnavailable, a timeout, or a bug: the ids still reach the caller
        log.warning("a task for this edit could not be kept (%s): answering as a plain call", type(exc).__name__)
        return None
    if not added:  # a live task has this id already (an id WaveSpeed gave twice?): it is not overwritten
        log.warning("task %s exists already: answering as a plain call", record.task_id)
        return None
    return record


def _record(runtime: Runtime, edit: PreparedEdit, ask: TaskAsk, answers: list[SubmitAnswer]) -> TaskRecord:
    jobs = [_job(answer, edit.run_price_usd) for answer in answers]
    ids = [job.prediction_id for job in jobs if job.prediction_id is not None]
    now = runtime.wall_clock()
    return TaskRecord(
        task_id=ids[0] if ids else f"unknown-{secrets.token_hex(16)}",
        scope=ask.scope,
        created_at=now,
        updated_at=now,
        ttl_seconds=task_ttl_seconds(ask.ttl_ms),
        model_id=edit.model.model_id,
        jobs=jobs,
        status_message="submitted to WaveSpeed",
    )


def _job(answer: SubmitAnswer, price: Decimal) -> TaskJob:
    exists = answer.prediction is not None or answer.maybe_created
    return TaskJob(
        prediction_id=None if answer.prediction is None else answer.prediction.id,
        seed=answer.seed,
        cost_usd=price if exists else Decimal(0),
        failure=answer.failure,
        maybe_created=answer.maybe_created,
    )


def _pending(runtime: Runtime, edit: PreparedEdit, answers: list[SubmitAnswer]) -> CallToolResult:
    runs = [_waiting(answer, edit.run_price_usd) for answer in answers]
    return call_result(runs, model_id=edit.model.model_id, resume_wait=runtime.resume_wait)


def _waiting(answer: SubmitAnswer, price: Decimal) -> Variation:
    """A variation as the call leaves it once its submit answered: running, or why no id is known."""
    if answer.prediction is not None:
        return Variation(answer.seed, price, Pending(answer.prediction, 0.0, 0, cost_usd=price))
    cost = _job(answer, price).cost_usd
    return Variation(answer.seed, cost, failure=answer.failure, maybe_created=answer.maybe_created)


async def _settle(runtime: Runtime, record: TaskRecord, runs: list[Variation]) -> None:
    """The task's end, as the run saw it; a run that stopped waiting (its jobs still going, or contact lost) leaves
    the task working, and the next read of it looks again."""
    if not over(runs):
        return
    ended = settlement(runs, model_id=record.model_id, resume_wait=runtime.resume_wait)
    with anyio.fail_after(LOOKUP_SECONDS):
        await runtime.store.tasks.settle(record.scope, record.task_id, ended.change(runtime.wall_clock()))


async def _first(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)


class _Relay:
    """The run's progress: to the call while it is open; then, in the 2025-11-25 form, as notifications on the
    call's progress token with the related-task metadata, where the connection still carries them (stdio, a
    session's stream). The last message is also the task's status message."""

    def __init__(self, progress: ProgressFn, ask: TaskAsk, run: LocalRun, runtime: Runtime) -> None:
        self._progress, self._ask, self._run, self._clock = progress, ask, run, runtime.clock
        self._started, self._last = runtime.clock.now(), 0.0
        self._gone = False  # the connection stopped taking notifications: the job is not held up by trying again

    async def __call__(self, message: str) -> None:
        self._run.message = message
        created, ask = self._ask.created, self._ask
        if created is None:
            await self._progress(message)
            return
        if ask.form != "2025-11-25" or ask.progress_token is None or self._gone:
            return  # the extension form carries no progress for tasks: tasks/get says it
        self._last = value = max(round(self._clock.now() - self._started, 2), round(self._last + 0.01, 2))
        params = ProgressNotificationParams(
            progress_token=ask.progress_token,
            progress=value,
            message=message,
            _meta={RELATED_TASK: {"taskId": created.task_id}},
        )
        try:
            with anyio.fail_after(NOTIFY_SECONDS):
                await ask.session.send_notification(ProgressNotification(params=params))
        except Exception:  # a client that went away must not break, nor slow, the job it paid for
            self._gone = True
            log.debug("task progress not delivered; no more will be sent for this task", exc_info=True)
