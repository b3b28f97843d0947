"""When to look again: the poll schedule, a pure function of the job's age and of when recent jobs finished.

Without history (the first job after start-up) the schedule is the safe default: a first look at 1 s, then every
20 % of the job's age, between 0.25 s and 1 s. For a 3 s job that is 7 polls and 0.11 s late.

With history it learns. Recent jobs give a window in which a job of this kind finishes. The next job sleeps until
just before that window (a single look at most every `max_early_sleep` on the way), polls densely across it, and
falls back to the default schedule if it runs past it. The density adapts: the window is covered in `dense_polls`
steps, never closer than `min_step`. So for a steady 3 s job a result is seen within 0.05 s of finishing, in about
3 polls instead of 7. A wide window (jobs that vary a lot) is covered in the same number of polls, just less tightly.
Each sample is the midpoint of the bracket in which a job was seen to finish: from the last "processing" poll (or
WaveSpeed's own `timings.inference`, which no job can beat, if that is later) to the first "completed" poll. Only
the last `size` samples count, so a wide first bracket soon ages out and a change in the service is followed quickly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class FinishWindow:
    """Seconds after submit within which recent jobs finished."""

    earliest: float
    latest: float


@dataclass(frozen=True)
class PollSchedule:
    first_delay: float = 1.0
    growth: float = 0.2
    min_interval: float = 0.25
    max_interval: float = 1.0
    # Learned mode:
    lead: float = 0.05  # first dense look this long before the window opens
    dense_polls: int = 4  # polls spent across the window
    min_step: float = 0.05  # never denser than this (20 polls a second at the very most, and only briefly)
    slack: float = 0.5  # keep polling densely this long past the window before falling back
    max_early_sleep: float = 5.0  # on the way to a late window, still look at least this often

    def delay(self, age: float, window: FinishWindow | None = None) -> float:
        """Seconds to wait before the next poll of a job that has been running `age` seconds."""
        if window is not None and age <= window.latest + self.slack:
            opens = max(window.earliest - self.lead, 0.0)
            if age < opens:
                return min(opens - age, self.max_early_sleep)
            return max(self.min_step, (window.latest - window.earliest + self.lead) / self.dense_polls)
        if age < self.first_delay:
            return self.first_delay - age
        return min(self.max_interval, max(self.min_interval, self.growth * age))


class DurationHistory:
    """How long recent jobs took, as seen by polling; the source of the learned window."""

    def __init__(self, size: int = 5) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def record(self, *, last_pending_age: float | None, done_age: float, inference_seconds: float | None) -> None:
        """A job was last seen running at `last_pending_age` and first seen completed at `done_age`."""
        # The finish lies after the last "processing" look, and no earlier than the inference time WaveSpeed reports.
        earliest = max(last_pending_age or 0.0, min(inference_seconds or 0.0, done_age))
        self._samples.append((earliest + done_age) / 2)

    def window(self) -> FinishWindow | None:
        if not self._samples:
            return None
        return FinishWindow(min(self._samples), max(self._samples))
