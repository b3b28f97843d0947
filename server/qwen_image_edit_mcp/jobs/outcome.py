"""How a job ended for this call, as data: every outcome after the submit carries the prediction, hence its id.

    Completed     the job finished and its outputs are ready (fetched, saved, previewed as far as possible)
    Pending       still running when this call's wait ended: nothing is wrong, resume with get_prediction
    Failed        the job ran and failed at WaveSpeed (its task code and reason are in the prediction)
    Interrupted   this server lost the thread after the job existed: contact lost, or an unexpected error while
                  waiting or preparing outputs; the job itself may be fine, and its id says where to look

Before a job exists, a call ends with an exception instead: `InputError` (refused, nothing sent) or `NoPrediction`
(no id is known: the submit failed, or a look-up found nothing; its message says whether a job may exist anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..media.outputs import Output
from ..models import Prediction


class OutputsUnusable(Exception):
    """The job completed but its outputs could not be made into what the call asked for (e.g. a masked composite);
    `follow` turns it into an Interrupted outcome with the id, the message as its reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoPrediction(Exception):
    """No prediction id is known. The message says why and whether a job may exist anyway (`maybe_created`)."""

    def __init__(self, message: str, *, maybe_created: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.maybe_created = maybe_created


@dataclass(frozen=True)
class Masked:
    """The call asked for one region only: its outputs are the edit inside the mask and the input elsewhere."""

    coverage: float  # the share of the input's pixels the edit may change
    feather: int  # the soft edge's width, in pixels, inside the mask
    unmasked: list[Output] = field(default_factory=list[Output])  # the edit as WaveSpeed made it, once completed
    lossless: bool = True  # False when the composite was saved as JPEG (the caller's choice)
    note: str | None = None  # why the mask could not be applied by this call, when it could not


@dataclass(frozen=True)
class _Known:
    prediction: Prediction  # the last state seen
    elapsed: float  # seconds this call spent
    polls: int  # status requests this call made
    cost_usd: Decimal | None = None  # what the run costs, when this call started it
    masked: Masked | None = field(default=None, kw_only=True)

    @property
    def prediction_id(self) -> str:
        return self.prediction.id


@dataclass(frozen=True)
class Completed(_Known):
    outputs: list[Output] = field(default_factory=list[Output])


@dataclass(frozen=True)
class Pending(_Known):
    waited: float = 0.0  # this call's wait limit, which ended first


@dataclass(frozen=True)
class Failed(_Known):
    pass


@dataclass(frozen=True)
class Interrupted(_Known):
    reason: str = ""  # what went wrong, for the model
    outputs_stage: bool = False  # the job had completed; what failed was fetching or preparing its outputs


Outcome = Completed | Pending | Failed | Interrupted
