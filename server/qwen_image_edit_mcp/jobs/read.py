"""The read use case: look up a prediction by id, optionally wait for it, and make its outputs ready; a masked job
this deployment started is finished with its mask (jobs/masked_later.py)."""

from __future__ import annotations

import logging
from typing import Final

from ..errors import WaveSpeedError
from .follow import follow
from .journal import journalled
from .masked_later import LaterMask, later_mask
from .outcome import NoPrediction, Outcome
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .waiting import read_prediction

log = logging.getLogger(__name__)

# get_prediction(wait_seconds=0) still rides out a brief outage before giving up.
MIN_READ_RETRY_WINDOW: Final = 10.0


async def run_read(runtime: Runtime, prediction_id: str, wait_seconds: float, progress: ProgressFn) -> Outcome:
    clock = runtime.clock
    started = clock.now()
    try:
        prediction = await read_prediction(
            runtime.upstream,
            prediction_id,
            clock=clock,
            retry_until=started + max(wait_seconds, MIN_READ_RETRY_WINDOW),
        )
    except WaveSpeedError as exc:
        raise NoPrediction(f"Could not read prediction {prediction_id}: {exc.message}") from None
    deadline = started + wait_seconds
    # The kept input is decoded only when this call may see the job complete (not for a glance at a running job).
    may_finish = prediction.succeeded or (wait_seconds > 0 and not prediction.is_terminal)
    masking = await _masking(runtime, prediction.id, answer_by=deadline + ANSWER_MARGIN, may_finish=may_finish)
    outcome = await follow(
        runtime,
        prediction,
        progress,
        started=started,
        deadline=deadline,
        polls=1,
        announce=f"prediction {prediction.id} is {prediction.status}",
        finish=None if masking is None else masking.finish,
    )
    return outcome if masking is None else masking.labelled(outcome)


async def _masking(runtime: Runtime, prediction_id: str, *, answer_by: float, may_finish: bool) -> LaterMask | None:
    """How to finish the job's mask, if the journal has one; None (the edit as WaveSpeed made it) when it has none or
    cannot say: whatever the store answers, the look-up itself goes on."""
    try:
        record = await journalled(runtime, prediction_id)
        return await later_mask(runtime, record, answer_by=answer_by, may_finish=may_finish)
    except Exception:  # a damaged record, a bug: logged, and the prediction is returned as it is
        log.exception("could not read the journal's record of prediction %s", prediction_id)
        return None
