"""From a known prediction to an outcome: the one place that keeps the promise "once an id exists, it is returned".

Both use cases that hold a prediction (a new edit, a looked-up one) finish here. Whatever goes wrong from this point
on, a fault at WaveSpeed, a malformed answer, a bug of ours in decoding or previewing, becomes an `Interrupted`
outcome carrying the prediction and how to resume, and the exception is logged with its traceback. Only a
cancellation propagates, after the id has been logged where a person (or a later session) can find it.
"""

from __future__ import annotations

import logging

import anyio

from ..media.outputs import Fetching, gather_outputs
from ..models import Prediction
from ..wavespeed.http_client import DOWNLOAD_TIMEOUT
from .outcome import Completed, Failed, Interrupted, Outcome, Pending
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .schedule import DurationHistory
from .waiting import wait_for_prediction

log = logging.getLogger(__name__)


async def follow(
    runtime: Runtime,
    prediction: Prediction,
    progress: ProgressFn,
    *,
    started: float,
    deadline: float,
    polls: int,
    history: DurationHistory | None = None,
    announce: str | None = None,
) -> Outcome:
    """Wait for `prediction` until it ends or `deadline` passes, then make its outputs ready."""
    clock, settings = runtime.clock, runtime.settings
    current, outputs_stage = prediction, False
    try:
        if announce is not None:
            await progress(announce)
        waited = await wait_for_prediction(
            runtime.wavespeed,
            prediction,
            clock=clock,
            deadline=deadline,
            started=started,
            on_progress=progress,
            history=history,
        )
        current, polls = waited.prediction, polls + waited.polls
        if waited.interruption is not None:
            log.info("lost contact while waiting for prediction %s: %s", current.id, waited.interruption.message)
            return Interrupted(current, clock.now() - started, polls, reason=waited.interruption.message)
        if waited.pending:
            log.info("prediction %s still %s when the wait ended", current.id, current.status)
            return Pending(current, clock.now() - started, polls, waited=deadline - started)
        if not current.succeeded:
            log.info("prediction %s ended %s (code %s)", current.id, current.status, current.code)
            return Failed(current, clock.now() - started, polls)
        outputs_stage = True
        await progress(f"prediction {current.id} completed; preparing the result")
        fetching = Fetching(
            settings.inline_max_bytes,
            settings.output_dir,
            seconds=min(DOWNLOAD_TIMEOUT, max(deadline + ANSWER_MARGIN - clock.now(), 1.0)),
            allow_private=runtime.api_is_local,
        )
        outputs = await gather_outputs(runtime.wavespeed, current, fetching)
        log.info("prediction %s completed in %.2f s after %d polls", current.id, clock.now() - started, polls)
        return Completed(current, clock.now() - started, polls, outputs=outputs)
    except anyio.get_cancelled_exc_class():
        # The client gave up; the job goes on at WaveSpeed and is already paid for.
        log.info("call cancelled while following prediction %s; resume it with get_prediction", prediction.id)
        raise
    except Exception as exc:  # the invariant: anything at all, once the id exists, becomes an outcome with the id
        stage = "preparing its outputs" if outputs_stage else "waiting for it"
        log.exception("unexpected %s while %s (prediction %s)", type(exc).__name__, stage, prediction.id)
        reason = f"an unexpected error ({type(exc).__name__}) while {stage}"
        return Interrupted(current, clock.now() - started, polls, reason=reason, outputs_stage=outputs_stage)
