"""Neutral types that cross the upstream seam: no adapter's wire format leaks past it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import Prediction


@dataclass(frozen=True)
class RunRequest:
    """One paid run: the model and its inputs, field for field as the model's schema names them (the body sent)."""

    model_id: str
    inputs: Mapping[str, Any]

    @property
    def sync(self) -> bool:
        """True when the run is asked to hold the request open until it is done (WaveSpeed's enable_sync_mode)."""
        return self.inputs.get("enable_sync_mode") is True


@dataclass(frozen=True)
class PredictionPage:
    """One page of the account's recent predictions, newest first (WaveSpeed keeps 7 days of them)."""

    items: list[Prediction]
    page: int
    total: int
