"""The moment every variation's submit has been answered: what a task needs before it can be created.

`start_all` notes here what became of each submit (a prediction, or why none is known and whether a job may exist)
while it goes on following the jobs; whoever waits on `all_answered` learns the ids without waiting for the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from ..models import Prediction


@dataclass(frozen=True)
class SubmitAnswer:
    """One variation's submit, answered: its prediction, or `failure` and whether a job may exist anyway."""

    seed: int
    prediction: Prediction | None = None
    failure: str | None = None
    maybe_created: bool = False


@dataclass
class Submitted:
    count: int
    answers: list[SubmitAnswer | None] = field(default_factory=list[SubmitAnswer | None])
    all_answered: anyio.Event = field(default_factory=anyio.Event)

    def __post_init__(self) -> None:
        self.answers = [None] * self.count

    def note(self, index: int, answer: SubmitAnswer) -> None:
        self.answers[index] = answer
        if all(item is not None for item in self.answers):
            self.all_answered.set()

    def known(self) -> list[SubmitAnswer]:
        """The answers, in variation order (call once `all_answered` is set)."""
        return [item for item in self.answers if item is not None]
