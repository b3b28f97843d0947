"""The emulator's memory: configuration, injectable faults, predictions, uploads and the request log.

A prediction's status is never stored: it is derived from the injected `Clock` each time it is read, so a test
that advances a fake clock by 3 s sees a "3 second" job complete without anyone sleeping.
"""

from __future__ import annotations

import base64
import hmac
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field

from ..clock import Clock, SystemClock
from ..models import MODEL_ID
from ..wavespeed.endpoints import RESULT_PATH
from .imaging import CONTENT_TYPES, InputImageError, OutputFormat, load_input, render_outputs
from .validation import EditInput

logger = logging.getLogger(__name__)

FILE_EXTENSIONS: dict[OutputFormat, str] = {"jpeg": "jpeg", "png": "png", "webp": "webp"}

Phase = Literal["created", "processing", "terminal"]
Counter = Literal[
    "submit_429",
    "submit_error_count",
    "poll_errors",
    "poll_html_errors",
    "envelope_errors",
    "fail_count",
    "sync_504",
    "poll_stalls",
    "poll_resets",
    "sync_504_with_id",
]


@dataclass
class EmulatorConfig:
    # None accepts any non-empty Bearer token; a string accepts exactly that key.
    api_key: str | None = None
    # Seconds from submit to completion for every job (a fault may override it per job).
    latency: float = 3.0
    # How long a sync-mode POST blocks before answering WaveSpeed's 5004 "still processing".
    sync_timeout: float = 90.0
    # Prefix of every absolute URL the emulator hands out; running_emulator sets it once the port is known.
    public_base_url: str = "http://127.0.0.1"


class Faults(BaseModel):
    """Misbehaviour to inject; all off by default. Counters (N) are consumed one per matching request."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    submit_429: int = Field(default=0, ge=0)
    retry_after: float = Field(default=1, ge=0)
    submit_error_status: int | None = Field(default=None, ge=400, le=599)
    submit_error_count: int = Field(default=0, ge=0)
    poll_error_status: int = Field(default=503, ge=400, le=599)
    poll_errors: int = Field(default=0, ge=0)
    poll_html_errors: int = Field(default=0, ge=0)
    envelope_error_code: int | None = None
    envelope_errors: int = Field(default=0, ge=0)
    fail_code: int | None = None
    fail_message: str = "The task failed (fault injected into the emulator)."
    fail_count: int = Field(default=0, ge=0)
    latency: float | None = Field(default=None, ge=0)
    hold: bool = False
    nsfw: bool = False
    num_outputs: int = Field(default=1, ge=1, le=16)
    sync_504: int = Field(default=0, ge=0)
    noisy_output: bool = False
    presigned_unavailable: bool = False
    # For the reliability suite:
    poll_stalls: int = Field(default=0, ge=0)  # next N result GETs answer only after `stall_seconds`
    stall_seconds: float = Field(default=30.0, ge=0)
    poll_resets: int = Field(default=0, ge=0)  # next N result GETs drop the connection mid-response
    poll_error_rate: float = Field(default=0.0, ge=0, le=1)  # this share of result GETs answer 503 (seeded, repeatable)
    output_missing: bool = False  # output URLs answer 404
    output_stall_seconds: float = Field(default=0.0, ge=0)  # output URLs answer only after this long
    sync_504_with_id: int = Field(default=0, ge=0)  # next N sync submits answer 504 with the envelope and the id


@dataclass(eq=False)
class Prediction:
    id: str
    input: EditInput
    created_clock: float
    created_at: str
    latency: float
    num_outputs: int
    nsfw: bool
    noisy: bool
    held: bool = False
    released_at: float | None = None
    # (data.code, data.error): attached at submit by a fault, or by rendering when the input is unusable.
    failure: tuple[int, str] | None = None
    outputs: list[bytes] | None = None
    rendered: bool = False
    render_lock: anyio.Lock = field(default_factory=anyio.Lock)
    _base64: list[str] | None = None

    @property
    def extension(self) -> str:
        return FILE_EXTENSIONS[self.input.output_format]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.input.output_format]

    def base64_outputs(self) -> list[str]:
        # Cached: a noisy 1536*1536 PNG is ~10 MB of base64 and may be polled many times.
        if self._base64 is None:
            self._base64 = [base64.b64encode(data).decode("ascii") for data in self.outputs or []]
        return self._base64


@dataclass(eq=False)
class Upload:
    token: str
    filename: str
    size: int
    content_type: str
    data: bytes | None = None  # None until the presigned PUT arrives


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


def _iso_now() -> str:
    # Wall time for display only; the job timeline runs on the injected clock.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

    # ---- predictions ------------------------------------------------------------------------------

    def create_prediction(self, edit: EditInput) -> Prediction:
        faults = self.faults
        failure: tuple[int, str] | None = None
        if self.take("fail_count"):
            failure = (faults.fail_code if faults.fail_code is not None else 1405, faults.fail_message)
        prediction = Prediction(
            id=uuid.uuid4().hex,
            input=edit,
            created_clock=self.clock.now(),
            created_at=_iso_now(),
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
        async with prediction.render_lock:
            if prediction.rendered:
                return
            if prediction.failure is None:
                edit = prediction.input
                try:
                    source = await load_input(edit.image, self._own_media)
                    prediction.outputs = await render_outputs(
                        source,
                        prompt=edit.prompt,
                        seed=edit.seed,
                        size=edit.size,
                        output_format=edit.output_format,
                        count=prediction.num_outputs,
                        noisy=prediction.noisy,
                    )
                except InputImageError as error:
                    prediction.failure = (error.code, error.message)
                except Exception:
                    logger.exception("emulator failed to render prediction %s", prediction.id)
                    prediction.failure = (5000, "Internal error while generating the output.")
            prediction.rendered = True

    async def view(self, prediction: Prediction) -> dict[str, Any]:
        """The prediction as GET /result describes it right now (waits for rendering once it is due)."""
        phase = self.phase(prediction)
        if phase == "terminal":
            await self.ensure_rendered(prediction)
        return self.describe(prediction, phase)

    def describe(self, prediction: Prediction, phase: Phase) -> dict[str, Any]:
        base = self.base_url
        data: dict[str, Any] = {
            "id": prediction.id,
            "model": MODEL_ID,
            "outputs": [],
            "urls": {"get": base + RESULT_PATH.format(id=prediction.id)},
            "has_nsfw_contents": [],
            "status": "created" if phase == "created" else "processing",
            "created_at": prediction.created_at,
            "error": "",
            "timings": {"inference": 0},
        }
        if phase != "terminal":
            return data
        if prediction.failure is not None:
            code, message = prediction.failure
            data.update(status="failed", code=code, error=message)
            return data
        outputs = prediction.outputs or []
        if prediction.input.enable_base64_output:
            data["outputs"] = prediction.base64_outputs()
        else:
            data["outputs"] = [
                f"{base}/outputs/{prediction.id}-{i}.{prediction.extension}" for i in range(len(outputs))
            ]
        done = self.done_at(prediction) or prediction.created_clock
        data.update(
            status="completed",
            has_nsfw_contents=[prediction.nsfw] * len(outputs),
            timings={"inference": round((done - prediction.created_clock) * 1000)},
        )
        return data

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
        prefix = self.base_url + "/"
        if not url.startswith(prefix):
            return False, None
        parts = url[len(prefix) :].split("?", 1)[0].split("/")
        if len(parts) == 3 and parts[0] == "media":
            upload = self.uploads.get(parts[1])
            return True, upload.data if upload is not None else None
        if len(parts) == 2 and parts[0] == "outputs":
            stem = parts[1].rsplit(".", 1)[0]
            prediction_id, _, index = stem.partition("-")
            if index.isdigit():
                prediction = await self.completed_output(prediction_id, int(index))
                if prediction is not None and prediction.outputs is not None:
                    return True, prediction.outputs[int(index)]
            return True, None
        return False, None
