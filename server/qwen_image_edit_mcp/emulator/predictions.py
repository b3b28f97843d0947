"""One emulated job: what was asked, when, how it ends, its rendered outputs, and how GET /result describes it.

Nothing here reads a clock: the state passes in the phase and the time the job finished, both derived from its
injected clock, so a prediction's status is never stored.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio

from ..wavespeed.endpoints import RESULT_PATH
from .imaging import CONTENT_TYPES, InputImageError, OutputFormat, OwnMediaLookup, load_input, render_outputs
from .validation import EditInput

logger = logging.getLogger(__name__)

FILE_EXTENSIONS: dict[OutputFormat, str] = {"jpeg": "jpeg", "png": "png", "webp": "webp"}

Phase = Literal["created", "processing", "terminal"]


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


def iso_now() -> str:
    # Wall time for display only; the job timeline runs on the injected clock.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def ensure_rendered(prediction: Prediction, own_media: OwnMediaLookup) -> None:
    """Produce the output bytes once (in a worker thread); an unusable input becomes the job's failure."""
    async with prediction.render_lock:
        if prediction.rendered:
            return
        if prediction.failure is None:
            edit = prediction.input
            try:
                sources = [await load_input(image, own_media) for image in edit.images]
                prediction.outputs = await render_outputs(
                    sources,
                    loras=[path for path, _ in edit.loras],
                    prompt=edit.prompt,
                    seed=edit.seed,
                    size=edit.render_size,
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


def output_url(base_url: str, prediction: Prediction, index: int) -> str:
    """Output `index` (from 0) as a URL whose file is numbered from 1, as the server numbers its saved files."""
    return f"{base_url}/outputs/{prediction.id}-{index + 1}.{prediction.extension}"


def parse_output_stem(stem: str) -> tuple[str, int] | None:
    """(prediction id, index from 0) of an output file's stem `<id>-<n>`, n from 1; None if it is not one."""
    prediction_id, _, number = stem.partition("-")
    if not number.isdigit() or int(number) < 1:
        return None
    return prediction_id, int(number) - 1


def describe(prediction: Prediction, phase: Phase, *, base_url: str, done: float | None = None) -> dict[str, Any]:
    """The prediction as WaveSpeed's `data` describes it in `phase`; `done` is when a terminal job finished."""
    data: dict[str, Any] = {
        "id": prediction.id,
        "model": prediction.input.model,
        "outputs": [],
        "urls": {"get": base_url + RESULT_PATH.format(id=prediction.id)},
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
        data["outputs"] = [output_url(base_url, prediction, i) for i in range(len(outputs))]
    finished = done or prediction.created_clock
    data.update(
        status="completed",
        has_nsfw_contents=[prediction.nsfw] * len(outputs),
        timings={"inference": round((finished - prediction.created_clock) * 1000)},
    )
    return data
