"""What every job shares, built once per process by the server's lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..clock import Clock
from ..config import Settings
from ..media.inputs import ImageInputs
from ..wavespeed.client import WaveSpeedClient
from .schedule import DurationHistory

# Tells the caller what is happening (a progress notification); never raises, whatever the client does.
ProgressFn = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    wavespeed: WaveSpeedClient
    clock: Clock
    inputs: ImageInputs
    durations: DurationHistory  # when recent edits finished, which the poll schedule learns from

    @property
    def resume_wait(self) -> float:
        """The wait_seconds to suggest when telling a caller how to resume a job."""
        return self.settings.wait_seconds or 50
