"""The paid half of an edit: reserve, journal, upload, submit once per variation, follow each job to an outcome.

`start_all` takes a `PreparedEdit` (jobs/prepare.py), so every free check is behind it and nothing is fetched or
checked again. It books every variation's price against the spend limit in one atomic step (all or none), writes
each job into the journal (a store that cannot is a refusal), uploads the images once (a failure in either releases
every booking: nothing was sent), then submits each variation once, side by side. From the moment WaveSpeed answers
a variation with an id, `follow` owns that job and its outcome carries the id; a variation whose submit failed says
why, and whether a job may exist anyway, without touching the others. `start` is the one-variation call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Final

import anyio

from ..errors import ConnectionFailedError, RateLimitError, WaveSpeedError
from ..media.inputs import deliver
from ..models import Prediction
from ..upstream.types import RunRequest
from .follow import follow
from .journal import begin_jobs, note_started
from .outcome import NoPrediction, Outcome
from .prepare import PreparedEdit
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .spending import Booking
from .submitted import SubmitAnswer, Submitted
from .together import together
from .waiting import submit_once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variation:
    """One run of the call: its seed and what became of it. `outcome` once a prediction exists; else `failure` says
    why no id is known, and `maybe_created` whether a job may exist anyway (then it may be charged)."""

    seed: int
    cost_usd: Decimal  # what it costs: its price once a job exists or may exist, 0 when provably none does
    outcome: Outcome | None = None
    failure: str | None = None
    maybe_created: bool = False


async def start(runtime: Runtime, prepared: PreparedEdit, progress: ProgressFn) -> Outcome:
    """One paid job, start to outcome. Raises InputError or NoPrediction while no job exists; never after."""
    (only,) = await start_all(runtime, replace(prepared, seeds=prepared.seeds[:1]), progress)
    if only.outcome is None:
        raise NoPrediction(only.failure or "", maybe_created=only.maybe_created)
    return only.outcome


async def start_all(
    runtime: Runtime,
    prepared: PreparedEdit,
    progress: ProgressFn,
    *,
    submitted: Submitted | None = None,
    follow_seconds: float | None = None,
) -> list[Variation]:
    """Every variation, start to outcome, in order. Raises InputError while nothing was submitted; never after.
    `submitted` learns what each submit answered as soon as it did (a task is created from that); a task's jobs are
    followed for `follow_seconds` instead of the call's wait, which still bounds everything up to the submits."""
    clock = runtime.clock
    started = clock.now()
    deadline = started + prepared.args.wait_seconds
    follow_by = deadline if follow_seconds is None else started + follow_seconds
    count, label = prepared.variations, prepared.model.model_id
    bookings = await runtime.spending.reserve_all(prepared.run_price_usd, label=label, count=count)
    try:
        job_ids = await begin_jobs(runtime, prepared, seconds=deadline + ANSWER_MARGIN - clock.now())
        uploads = [partial(deliver, image, runtime.inputs) for image in prepared.inputs]
        seconds = deadline + ANSWER_MARGIN - clock.now()
        delivered = await together(uploads, seconds=seconds, doing="uploading the images")
    except BaseException:
        with anyio.CancelScope(shield=True):
            for booking in bookings:  # nothing was submitted: the room comes back
                await booking.release()
        raise
    for note in (item.note for item in delivered if item.note):
        log.info("edit_image input: %s", note)
        await progress(f"image ready: {note}")
    images = [item.value for item in delivered]
    sync = " (sync mode)" if prepared.args.enable_sync_mode else ""
    seeds = ", ".join(str(seed) for seed in prepared.seeds)
    await progress(
        f"submitting the edit to WaveSpeed{sync}" if count == 1 else f"submitting {count} variations (seeds {seeds})"
    )
    each = sharing(runtime, count)
    runs: list[Variation | None] = [None] * count

    async def run(index: int) -> None:
        seed = prepared.seeds[index]
        told = progress if count == 1 else _labelled(progress, f"variation {index + 1} of {count} (seed {seed})")
        request = prepared.request(images, None if count == 1 else seed)
        one = _One(each, prepared, bookings[index], job_ids[index], seed, told)
        answered = _answering(submitted, index)
        runs[index] = await one.run(request, started=started, deadline=deadline, follow_by=follow_by, answered=answered)

    async with anyio.create_task_group() as group:  # side by side: 4 take about as long as 1
        for index in range(count):
            group.start_soon(run, index)
    return [item for item in runs if item is not None]


def _answering(submitted: Submitted | None, index: int) -> Callable[[SubmitAnswer], None]:
    def answered(answer: SubmitAnswer) -> None:
        if submitted is not None:
            submitted.note(index, answer)

    return answered


def sharing(runtime: Runtime, count: int) -> Runtime:
    """The runtime each variation uses: the same everything, with its share of the inline preview budget, so that
    the whole result stays under the host's limit."""
    if count == 1:
        return runtime
    settings = runtime.settings
    return replace(runtime, settings=replace(settings, inline_max_bytes=settings.inline_max_bytes // count))


def _labelled(progress: ProgressFn, label: str) -> ProgressFn:
    async def told(message: str) -> None:
        await progress(f"{label}: {message}")

    return told


@dataclass(frozen=True)
class _One:
    """One variation's paid half: its submit, sent once, then its job followed."""

    runtime: Runtime
    prepared: PreparedEdit
    booking: Booking
    job_id: str
    seed: int
    progress: ProgressFn

    async def run(
        self,
        request: RunRequest,
        *,
        started: float,
        deadline: float,
        follow_by: float,
        answered: Callable[[SubmitAnswer], None],
    ) -> Variation:
        runtime, prepared, clock = self.runtime, self.prepared, self.runtime.clock
        price, wait = prepared.run_price_usd, prepared.args.wait_seconds
        try:
            prediction = await _submit(runtime, request, self.booking, deadline=deadline, wait_seconds=wait)
        except NoPrediction as exc:
            answered(SubmitAnswer(self.seed, failure=exc.message, maybe_created=exc.maybe_created))
            cost = price if exc.maybe_created else Decimal(0)
            return Variation(self.seed, cost, failure=exc.message, maybe_created=exc.maybe_created)
        answered(SubmitAnswer(self.seed, prediction))
        log.info("edit_image submitted prediction %s (status %s)", prediction.id, prediction.status)
        region = prepared.region
        settle_within = max(deadline + ANSWER_MARGIN - clock.now(), 1.0)
        # The id is in the journal before the job is followed: a composite made in this call is kept under it.
        journalled = await note_started(runtime, self.job_id, prediction.id, settle_within)
        if region is not None and not journalled:
            region = region.unjournalled()
        outcome: Outcome | None = None
        async with anyio.create_task_group() as beside:  # the spend is recorded while the job is followed
            beside.start_soon(self.booking.commit, prediction.id, settle_within)
            outcome = await follow(
                runtime,
                prediction,
                self.progress,
                started=started,
                deadline=follow_by,
                polls=0,
                history=runtime.durations,
                announce=f"submitted: prediction {prediction.id} is {prediction.status}",
                finish=None if region is None else region.finisher(runtime, answer_by=follow_by + ANSWER_MARGIN),
            )
        assert outcome is not None  # follow returns or raises
        outcome = replace(outcome, cost_usd=price)
        return Variation(self.seed, price, outcome if region is None else region.labelled(outcome))


def total_cost(runs: Sequence[Variation]) -> Decimal:
    return sum((run.cost_usd for run in runs), Decimal(0))


async def _submit(
    runtime: Runtime, request: RunRequest, booking: Booking, *, deadline: float, wait_seconds: float
) -> Prediction:
    """The submit, sent once; the booking released when it provably created nothing, else left to its lease."""
    sync, answer_by = request.sync, deadline + ANSWER_MARGIN
    try:
        return await submit_once(runtime.upstream, request, clock=runtime.clock, deadline=deadline, answer_by=answer_by)
    except WaveSpeedError as exc:
        if exc.created_nothing:
            await booking.release()
        else:
            log.warning("submit of unknown outcome: its $%s reservation stays until its lease ends", booking.price_usd)
            _log_abandoned(f"no answer with an id ({exc.message})")
        failure = submit_failure(exc, sync=sync, wait_seconds=wait_seconds)
        raise NoPrediction(failure, maybe_created=not exc.created_nothing) from None
    except anyio.get_cancelled_exc_class():
        # An async submit is shielded (see submit_once), so this is a sync-mode request or a retry's backoff. The
        # reservation stays to its lease either way: the safe side of a cap.
        if sync:
            _log_abandoned("the client cancelled the call while the sync-mode request was open")
        else:
            log.info("edit_image cancelled before the submit was sent again (nothing was created)")
        raise
    except Exception as exc:
        log.exception("unexpected %s while submitting an edit", type(exc).__name__)
        _log_abandoned(f"an unexpected {type(exc).__name__}")
        raise NoPrediction(
            f"The submit ended with an unexpected error ({type(exc).__name__}), so its outcome is unknown."
            + _UNKNOWN_OUTCOME,
            maybe_created=True,
        ) from None


def _log_abandoned(why: str) -> None:
    """A submit that may have created a job whose id nobody knows: say when, so list_predictions can match it."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log.warning("abandoned a submit of unknown outcome at %s: %s; a job may exist, see list_predictions", at, why)


_UNKNOWN_OUTCOME: Final = (
    " This server does not resend a request whose outcome is unknown, so that you are never billed twice: "
    "call list_predictions (or check the WaveSpeed dashboard) to find the job and resume it with "
    "get_prediction before trying again."
)


def submit_failure(exc: WaveSpeedError, *, sync: bool, wait_seconds: float) -> str:
    """Why the edit could not be submitted, and whether a job might exist anyway (the error's own `outcome`)."""
    if exc.created_nothing:
        retried = " (retried a few times)" if isinstance(exc, RateLimitError) else ""
        return f"{exc.message} No job was created{retried}."
    if sync:
        return (
            f"The sync-mode request got no answer with a prediction id within {wait_seconds:g} s ({exc.message}). "
            "The job may still have been created and may complete."
            + _UNKNOWN_OUTCOME
            + " Async mode (enable_sync_mode=false, the default) always returns an id that get_prediction can resume."
        )
    if isinstance(exc, ConnectionFailedError):
        return (
            f"The edit request was sent but no answer came back: {exc.message} It may have created a job."
            + _UNKNOWN_OUTCOME
        )
    return f"{exc.message} The job may or may not have been created." + _UNKNOWN_OUTCOME
