"""The read use case: look up a prediction by id, optionally wait for it, and make its outputs ready."""

from __future__ import annotations

from typing import Final

from ..errors import WaveSpeedError
from .follow import follow
from .outcome import NoPrediction, Outcome
from .runtime import ProgressFn, Runtime
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
    return await follow(
        runtime,
        prediction,
        progress,
        started=started,
        deadline=started + wait_seconds,
        polls=1,
        announce=f"prediction {prediction.id} is {prediction.status}",
    )
