"""A finished prediction's outputs, made ready to hand over: fetched or decoded, kept on disk, previewed.

Outputs are fetched only from the URLs the API returned, capped in size and time. Base64 outputs have no URL, so
they are always saved. Previews share the inline budget: an output whose original does not fit is previewed
downscaled. Nothing here builds MCP content: `surface/rendering.py` does, from the `Output`s made here.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from ..errors import RefusedAddressError, WaveSpeedError
from ..folders import default_output_dir
from ..models import Prediction
from ..wavespeed.client import WaveSpeedClient
from ..wavespeed.http_client import DOWNLOAD_TIMEOUT, MAX_OUTPUT_BYTES
from .image_bytes import EXTENSIONS, decode_base64, verified_image_type
from .previews import Preview, base64_size, make_preview, preview_of
from .saving import save_output

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

log = logging.getLogger(__name__)

# What the text, JSON and links of a result take, at most, per output and in all; the rest is for previews.
_RESERVE_PER_OUTPUT = 1_500
_RESERVE = 6_000


@dataclass
class Output:
    index: int  # 1-based, as a person counts
    url: str | None  # what WaveSpeed returned, when it returned a URL
    mime: str | None = None
    data: bytes | None = None  # the full image, while a preview is made from it
    saved_path: Path | None = None
    preview: Preview | None = None
    note: str | None = None  # why something is missing (no preview, not saved)

    @property
    def link(self) -> str | None:
        return self.url or (self.saved_path.as_uri() if self.saved_path else None)


@dataclass(frozen=True)
class Fetching:
    """How outputs may be fetched for this call: where to keep them, how long downloads may take, and whether a
    private address is fine (only when the API itself is local, i.e. an emulator). With `keep`, the outputs are the
    material of a composite: always fetched, kept in memory (`data`) and not previewed (the composite is)."""

    inline_max_bytes: int
    output_dir: Path | None
    seconds: float = DOWNLOAD_TIMEOUT
    allow_private: bool = False
    keep: bool = False


async def gather_outputs(client: WaveSpeedClient, prediction: Prediction, fetching: Fetching) -> list[Output]:
    """Fetch or decode every output, keep it on disk where asked (always for base64), then fit the previews."""
    outputs: list[Output] = []
    for index, value in enumerate(prediction.outputs, start=1):
        output = Output(index, url=value if value.startswith(("http://", "https://")) else None)
        if output.url is not None:
            if fetching.keep or fetching.output_dir is not None or fetching.inline_max_bytes > 0:
                await _download(client, output, prediction.id, fetching)
        else:
            await _decode_and_save(output, value, prediction.id, fetching.output_dir or default_output_dir())
        outputs.append(output)
    if not fetching.keep:
        await fit_previews(outputs, fetching.inline_max_bytes)
    return outputs


async def fit_previews(outputs: list[Output], inline_max_bytes: int) -> None:
    """Preview each output within the inline budget, then free the originals (previews and files hold the rest)."""
    pending = [(output, output.data, output.mime) for output in outputs if output.data is not None and output.mime]
    budget = PreviewBudget(inline_max_bytes, outputs=len(outputs), previews=len(pending))
    for output, data, mime in pending:
        await fit_preview(output, data, mime, budget)
    for output in outputs:
        output.data = None


class PreviewBudget:
    """The inline budget a result's previews share, less what its text, JSON and links take: each preview may use
    what is left divided by the previews still to come, so they must be made one after another."""

    def __init__(self, inline_max_bytes: int, *, outputs: int, previews: int) -> None:
        self.left = inline_max_bytes - _RESERVE - _RESERVE_PER_OUTPUT * outputs
        self.previews = previews

    def share(self) -> int:
        return self.left // max(self.previews, 1)

    def spent(self, preview: Preview | None) -> None:
        self.previews -= 1
        if preview is not None:
            self.left -= base64_size(len(preview.data))


async def fit_preview(
    output: Output, data: bytes, mime: str, budget: PreviewBudget, *, picture: PILImage | None = None
) -> None:
    """Preview one output, whose image is `data`, with its share of the budget, in a worker thread. With `picture`,
    the same pixels already decoded (a composite), the preview is made from it instead of decoding `data` again."""
    make = partial(make_preview, data, mime) if picture is None else partial(preview_of, picture, data, mime)
    preview: Preview | None = None
    try:
        preview = await anyio.to_thread.run_sync(make, budget.share())
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's words for truncated or corrupt data
        why = f"no preview: the image could not be decoded ({exc}); the link may still work"
        output.note = f"{output.note}; {why}" if output.note else why
        return
    finally:
        budget.spent(preview)
    if preview is None:
        output.note = output.note or "no preview: even a small one would not fit the inline budget"
        return
    output.preview = preview


async def _download(client: WaveSpeedClient, output: Output, prediction_id: str, fetching: Fetching) -> None:
    assert output.url is not None
    try:
        data = await client.download(
            output.url, max_bytes=MAX_OUTPUT_BYTES, seconds=fetching.seconds, allow_private=fetching.allow_private
        )
    except RefusedAddressError as exc:
        output.note = f"not fetched: {exc.message}"
        return
    except WaveSpeedError as exc:
        output.note = f"no preview: fetching the output failed ({exc.message}); the URL may still work, later too"
        return
    if data is None:
        output.note = f"no preview: the output is larger than {MAX_OUTPUT_BYTES // 2**20} MB; open the URL"
        return
    # Verified before anything is written: an HTML error page must never land in the output folder as an image.
    output.mime = await anyio.to_thread.run_sync(verified_image_type, data)
    if output.mime is None:
        output.note = (
            f"no preview: the output URL returned {len(data)} bytes that are not a readable image (corrupt, "
            "truncated or something else); downloading it again later may work"
        )
        return
    output.data = data
    if fetching.output_dir is not None and not fetching.keep:  # a composite's material: the composite is saved
        await _save(output, fetching.output_dir, prediction_id, data)


async def _decode_and_save(output: Output, value: str, prediction_id: str, directory: Path) -> None:
    def decode() -> tuple[bytes, str | None]:
        data = decode_base64(value)
        return data, verified_image_type(data)

    try:
        data, output.mime = await anyio.to_thread.run_sync(decode)
    except (binascii.Error, ValueError):
        output.note = "the base64 output could not be decoded"
        return
    if output.mime is None:
        output.note = f"the base64 output ({len(data)} bytes) is not a readable image, so it was not saved"
        return
    output.data = data
    await _save(output, directory, prediction_id, data)


async def _save(output: Output, directory: Path, prediction_id: str, data: bytes) -> None:
    extension = EXTENSIONS.get(output.mime or "", "bin")
    try:
        output.saved_path = await anyio.to_thread.run_sync(
            save_output, directory, prediction_id, output.index, extension, data
        )
    except OSError as exc:
        log.warning("could not save output %d of %s to %s: %s", output.index, prediction_id, directory, exc)
        output.note = f"could not save the image to {directory}: {exc.strerror or exc}"
