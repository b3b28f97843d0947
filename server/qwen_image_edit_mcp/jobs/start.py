"""The paid half of an edit: reserve, journal, upload, submit once, follow the job to an outcome.

`start` takes a `PreparedEdit` (jobs/prepare.py), so every free check is behind it and nothing is fetched or checked
again. It books the prepared price against the spend limit, writes the job into the journal (a store that cannot is
a refusal), uploads what must be uploaded (a failure in either releases the booking: nothing was sent), and submits
once. From the moment WaveSpeed answers with an id, `follow` owns the job
and every outcome carries it. What a failed submit means (nothing created, or unknown) is the error's own word.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Final

import anyio

from ..errors import ConnectionFailedError, RateLimitError, WaveSpeedError
from ..media.inputs import deliver
from ..models import Prediction
from ..upstream.types import RunRequest
from .follow import follow
from .journal import begin_job, note_started
from .outcome import NoPrediction, Outcome
from .prepare import PreparedEdit
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .spending import Booking
from .together import together
from .waiting import submit_once

log = logging.getLogger(__name__)


async def start(runtime: Runtime, prepared: PreparedEdit, progress: ProgressFn) -> Outcome:
    """One paid job, start to outcome. Raises InputError or NoPrediction while no job exists; never after."""
    clock = runtime.clock
    started = clock.now()
    args = prepared.args
    deadline = started + args.wait_seconds
    booking = await runtime.spending.reserve(prepared.price_usd, label=prepared.model.model_id)
    try:
        job_id = await begin_job(runtime, prepared, seconds=deadline + ANSWER_MARGIN - clock.now())
        uploads = [partial(deliver, image, runtime.inputs) for image in prepared.inputs]
        seconds = deadline + ANSWER_MARGIN - clock.now()
        delivered = await together(uploads, seconds=seconds, doing="uploading the images")
    except BaseException:
        await booking.release()  # nothing was submitted: the room comes back
        raise
    for note in (item.note for item in delivered if item.note):
        log.info("edit_image input: %s", note)
        await progress(f"image ready: {note}")
    request = prepared.request([item.value for item in delivered])
    await progress("submitting the edit to WaveSpeed" + (" (sync mode)" if args.enable_sync_mode else ""))
    prediction = await _submit(runtime, request, booking, deadline=deadline, wait_seconds=args.wait_seconds)
    log.info("edit_image submitted prediction %s (status %s)", prediction.id, prediction.status)
    region = prepared.region
    settle_within = max(deadline + ANSWER_MARGIN - clock.now(), 1.0)
    # The id is in the journal before the job is followed: a composite made in this call is kept under it.
    journalled = await note_started(runtime, job_id, prediction.id, settle_within)
    if region is not None and not journalled:
        region = region.unjournalled()
    outcome: Outcome | None = None
    async with anyio.create_task_group() as beside:  # the spend is recorded while the job is followed
        beside.start_soon(booking.commit, prediction.id, settle_within)
        outcome = await follow(
            runtime,
            prediction,
            progress,
            started=started,
            deadline=deadline,
            polls=0,
            history=runtime.durations,
            announce=f"submitted: prediction {prediction.id} is {prediction.status}",
            finish=None if region is None else region.finisher(runtime, answer_by=deadline + ANSWER_MARGIN),
        )
    assert outcome is not None  # follow returns or raises
    outcome = replace(outcome, cost_usd=prepared.price_usd)
    return outcome if region is None else region.labelled(outcome)


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
        raise NoPrediction(submit_failure(exc, sync=sync, wait_seconds=wait_seconds)) from None
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
            + _UNKNOWN_OUTCOME
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
