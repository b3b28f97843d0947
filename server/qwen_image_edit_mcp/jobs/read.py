"""The read use case: look up a prediction by id, optionally wait for it, and make its outputs ready; a masked job
this deployment started is finished with its mask (jobs/masked_later.py)."""

from __future__ import annotations

from typing import Final

from ..errors import WaveSpeedError
from .follow import follow
from .journal import journalled
from .masked_later import later_mask
from .outcome import NoPrediction, Outcome
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .waiting import read_prediction

# get_prediction(wait_seconds=0) still rides out a brief outage before giving up.
MIN_READ_RETRY_WINDOW: Final = 10.0


async def run_read(runtime: Runtime, prediction_id: str, wait_seconds: float, progress: ProgressFn) -> Outcome:
    clock = runtime.clock
    started = clock.now()
    try:
        prediction = await read_prediction(
            runtime.wavespeed,
            prediction_id,
            clock=clock,
            retry_until=started + max(wait_seconds, MIN_READ_RETRY_WINDOW),
        )
    except WaveSpeedError as exc:
        raise NoPrediction(f"Could not read prediction {prediction_id}: {exc.message}") from None
    deadline = started + wait_seconds
    record, _ = await journalled(runtime, prediction.id)
    masking = await later_mask(runtime, record, answer_by=deadline + ANSWER_MARGIN)
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
