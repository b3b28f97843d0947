"""The emulator's memory: configuration, injectable faults, predictions, uploads and the request log.

A prediction's status is never stored: it is derived from the injected `Clock` each time it is read, so a test
that advances a fake clock by 3 s sees a "3 second" job complete without anyone sleeping.
"""

from __future__ import annotations

import hmac
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..clock import Clock, SystemClock
from . import predictions
from .catalog import price_of as entry_price
from .catalog_data import built_in_catalog
from .catalog_fields import CatalogEntry
from .faults import Counter, EmulatorConfig, Faults
from .predictions import Phase, Prediction
from .uploads import Upload, parse_own_url
from .validation import EditInput


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    time: float
    json: Any
    # Only whether a key was sent: the key itself is never recorded.
    has_authorization: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "time": self.time,
            "json": self.json,
            "has_authorization": self.has_authorization,
        }


class EmulatorState:
    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Clock | None = None, faults: Faults | None = None
    ) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.faults = faults if faults is not None else Faults()
        self.predictions: dict[str, Prediction] = {}
        self.uploads: dict[str, Upload] = {}
        self.requests: list[LoggedRequest] = []
        self.balance_usd = Decimal(str(self.config.balance))
        # What GET /api/v3/models lists and what can be submitted: model id -> entry in WaveSpeed's shape.
        self.catalog: dict[str, CatalogEntry] = built_in_catalog()
        # Seeded, so a run with `poll_error_rate` fails the same polls every time.
        self.random = random.Random(1234)

    # ---- configuration, faults, log -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.config.public_base_url.rstrip("/")

    def authorized(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if self.config.api_key is None:
            return True
        return hmac.compare_digest(token.encode(), self.config.api_key.encode())

    def log(self, method: str, path: str, *, json: Any = None, has_authorization: bool = False) -> None:
        self.requests.append(LoggedRequest(method, path, self.clock.now(), json, has_authorization))

    def request_log(self) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in self.requests]

    def update_faults(self, changes: Mapping[str, Any]) -> Faults:
        """Partial update; raises pydantic.ValidationError (nothing changed) on unknown names or bad values."""
        updated = Faults.model_validate({**self.faults.model_dump(), **changes})
        if self.faults.hold and not updated.hold:
            self.release_all()
        self.faults = updated
        return updated

    def take(self, counter: Counter) -> bool:
        """Consume one unit of a counting fault; True when the fault fires for this request."""
        remaining: int = getattr(self.faults, counter)
        if remaining <= 0:
            return False
        setattr(self.faults, counter, remaining - 1)
        return True

    def reset(self) -> None:
        self.predictions.clear()
        self.uploads.clear()
        self.requests.clear()
        self.faults = Faults()
        self.balance_usd = Decimal(str(self.config.balance))
        self.catalog = built_in_catalog()

    def change_catalog(self, added: Sequence[CatalogEntry], removed: Sequence[str]) -> int:
        """Add `added` (replacing entries with the same model id), then drop `removed`; the catalog's new size."""
        for entry in added:
            self.catalog[entry["model_id"]] = entry
        for model_id in removed:
            self.catalog.pop(model_id, None)
        return len(self.catalog)

    # ---- the account ------------------------------------------------------------------------------

    def price_of(self, model_id: str, inputs: Mapping[str, Any]) -> Decimal:
        """One run of catalog model `model_id` on `inputs` (KeyError for a model the catalog lacks); the
        `price_usd` fault, when set, is every run's price."""
        override = self.faults.price_usd
        entry = self.catalog[model_id]
        return Decimal(str(override)) if override is not None else entry_price(entry, inputs)

    def charge(self, model_id: str, inputs: Mapping[str, Any]) -> bool:
        """Draw one run from the balance; False (nothing drawn) when the balance cannot pay."""
        price = self.price_of(model_id, inputs)
        if self.balance_usd < price:
            return False
        self.balance_usd -= price
        return True

    # ---- predictions and their timeline -------------------------------------------------------------

    def create_prediction(self, edit: EditInput) -> Prediction:
        faults = self.faults
        failure: tuple[int, str] | None = None
        if self.take("fail_count"):
            failure = (faults.fail_code if faults.fail_code is not None else 1405, faults.fail_message)
        prediction = Prediction(
            id=uuid.uuid4().hex,
            input=edit,
            created_clock=self.clock.now(),
            created_at=predictions.iso_now(),
            latency=faults.latency if faults.latency is not None else self.config.latency,
            num_outputs=faults.num_outputs,
            nsfw=faults.nsfw,
            noisy=faults.noisy_output,
            held=faults.hold,
            failure=failure,
        )
        self.predictions[prediction.id] = prediction
        return prediction

    def release(self, prediction: Prediction) -> None:
        if prediction.held and prediction.released_at is None:
            prediction.released_at = self.clock.now()

    def release_all(self) -> None:
        for prediction in self.predictions.values():
            self.release(prediction)

    def done_at(self, prediction: Prediction) -> float | None:
        """Clock time at which the job is terminal; None while it is held."""
        if prediction.held and prediction.released_at is None:
            if self.faults.hold:
                return None
            # Hold was switched off by assigning to `faults` directly rather than through update_faults.
            self.release(prediction)
        done = prediction.created_clock + prediction.latency
        if prediction.released_at is not None:
            done = max(done, prediction.released_at)
        return done

    def phase(self, prediction: Prediction) -> Phase:
        now = self.clock.now()
        if now < prediction.created_clock + min(0.1, prediction.latency / 10):
            return "created"
        done = self.done_at(prediction)
        if done is None or now < done:
            return "processing"
        return "terminal"

    async def ensure_rendered(self, prediction: Prediction) -> None:
        """Produce the output bytes once (in a worker thread); an unusable input becomes the job's failure."""
        await predictions.ensure_rendered(prediction, self._own_media)

    async def view(self, prediction: Prediction) -> dict[str, Any]:
        """The prediction as GET /result describes it right now (waits for rendering once it is due)."""
        phase = self.phase(prediction)
        if phase == "terminal":
            await self.ensure_rendered(prediction)
        return self.describe(prediction, phase)

    def describe(self, prediction: Prediction, phase: Phase) -> dict[str, Any]:
        finished = phase == "terminal" and prediction.failure is None
        done = self.done_at(prediction) if finished else None
        return predictions.describe(prediction, phase, base_url=self.base_url, done=done)

    async def completed_output(self, prediction_id: str, index: int) -> Prediction | None:
        """The prediction owning output `index`, if that output exists and the job has completed."""
        prediction = self.predictions.get(prediction_id)
        if prediction is None or self.phase(prediction) != "terminal":
            return None
        # An output URL may be fetched before anyone polled the result: finish rendering first.
        await self.ensure_rendered(prediction)
        if prediction.failure is not None or prediction.outputs is None or index >= len(prediction.outputs):
            return None
        return prediction

    # ---- uploads ----------------------------------------------------------------------------------

    def create_upload(self, filename: str, size: int, content_type: str, data: bytes | None = None) -> Upload:
        upload = Upload(token=uuid.uuid4().hex, filename=filename, size=size, content_type=content_type, data=data)
        self.uploads[upload.token] = upload
        return upload

    async def _own_media(self, url: str) -> tuple[bool, bytes | None]:
        """Resolve the emulator's own /media and /outputs URLs from memory: (is_own, bytes or None if missing)."""
        own = parse_own_url(url, self.base_url)
        if own is None:
            return False, None
        if own.kind == "media":
            upload = self.uploads.get(own.key)
            return True, upload.data if upload is not None else None
        if own.kind == "outputs":
            prediction = await self.completed_output(own.key, own.index)
            if prediction is not None and prediction.outputs is not None:
                return True, prediction.outputs[own.index]
        return True, None
