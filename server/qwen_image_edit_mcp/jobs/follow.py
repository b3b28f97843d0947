"""From a known prediction to an outcome: the one place that keeps the promise "once an id exists, it is returned".

Both use cases that hold a prediction (a new edit, a looked-up one) finish here. Whatever goes wrong from this point
on, a fault at WaveSpeed, a malformed answer, a bug of ours in decoding or previewing, becomes an `Interrupted`
outcome carrying the prediction and how to resume, and the exception is logged with its traceback. Only a
cancellation propagates, after the id has been logged where a person (or a later session) can find it. A use case
with more to do once the job completed (a masked edit's composite) passes it as `finish`: it runs inside the same
guarantee.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from ..media.outputs import Fetching, gather_outputs
from ..models import Prediction
from ..upstream.limits import DOWNLOAD_TIMEOUT
from .outcome import Completed, Failed, Interrupted, Outcome, OutputsUnusable, Pending
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .schedule import DurationHistory
from .waiting import wait_for_prediction

log = logging.getLogger(__name__)

# What a use case still does with a completed job's outputs (a masked edit composites them), inside the guarantee.
Finish = Callable[[Completed], Awaitable[Completed]]


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
    finish: Finish | None = None,
) -> Outcome:
    """Wait for `prediction` until it ends or `deadline` passes, then make its outputs ready."""
    clock = runtime.clock
    current, outputs_stage = prediction, False
    try:
        if announce is not None:
            await progress(announce)
        waited = await wait_for_prediction(
            runtime.upstream,
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
        fetching = _fetching(runtime, deadline, keep=finish is not None)
        outputs = await gather_outputs(runtime.upstream, current, fetching)
        log.info("prediction %s completed in %.2f s after %d polls", current.id, clock.now() - started, polls)
        completed = Completed(current, clock.now() - started, polls, outputs=outputs)
        return completed if finish is None else await finish(completed)
    except anyio.get_cancelled_exc_class():
        # The client gave up; the job goes on at WaveSpeed and is already paid for.
        log.info("call cancelled while following prediction %s; resume it with get_prediction", prediction.id)
        raise
    except OutputsUnusable as exc:
        log.warning("prediction %s completed, but %s", prediction.id, exc.message)
        return Interrupted(current, clock.now() - started, polls, reason=exc.message, outputs_stage=True)
    except Exception as exc:  # the invariant: anything at all, once the id exists, becomes an outcome with the id
        stage = "preparing its outputs" if outputs_stage else "waiting for it"
        log.exception("unexpected %s while %s (prediction %s)", type(exc).__name__, stage, prediction.id)
        reason = f"an unexpected error ({type(exc).__name__}) while {stage}"
        return Interrupted(current, clock.now() - started, polls, reason=reason, outputs_stage=outputs_stage)


def _fetching(runtime: Runtime, deadline: float, *, keep: bool) -> Fetching:
    """How this call may fetch the outputs: within what is left of its time, kept in memory for a composite."""
    seconds = min(DOWNLOAD_TIMEOUT, max(deadline + ANSWER_MARGIN - runtime.clock.now(), 1.0))
    settings = runtime.settings
    return Fetching(
        settings.inline_max_bytes, settings.output_dir, seconds, allow_private=runtime.api_is_local, keep=keep
    )
