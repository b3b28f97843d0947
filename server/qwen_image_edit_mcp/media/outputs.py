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
from ..upstream.limits import DOWNLOAD_TIMEOUT, MAX_OUTPUT_BYTES
from ..upstream.protocol import Upstream
from .image_bytes import EXTENSIONS, VerifiedImage, decode_base64, verified_image
from .previews import Preview, base64_size, make_preview, pixels_needed, preview_of
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
    data: bytes | None = None  # the full image, kept only as a composite's material (`Fetching.keep`)
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


async def gather_outputs(client: Upstream, prediction: Prediction, fetching: Fetching) -> list[Output]:
    """Fetch or decode every output, then verify, keep on disk (always for base64) and preview it in one pass."""
    outputs = [
        Output(index, url=value if value.startswith(("http://", "https://")) else None)
        for index, value in enumerate(prediction.outputs, start=1)
    ]
    fetch = fetching.keep or fetching.output_dir is not None or fetching.inline_max_bytes > 0
    coming = sum(1 for output in outputs if output.url is None or fetch)
    budget = PreviewBudget(fetching.inline_max_bytes, outputs=len(outputs), previews=coming)
    for output, value in zip(outputs, prediction.outputs, strict=True):
        if output.url is None:
            await _settle(output, value, prediction.id, fetching, budget)
        elif fetch:
            data = await _download(client, output, fetching)
            if data is not None:
                await _settle(output, data, prediction.id, fetching, budget)
            else:
                budget.spent(None)
    return outputs


class PreviewBudget:
    """The inline budget a result's previews share, less what its text, JSON and links take: each preview may use
    what is left divided by the previews still to come (an output that fails gives its share back to those after
    it), so they must be made one after another."""

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
        _noted(output, f"no preview: the image could not be decoded ({exc}); the link may still work")
        return
    finally:
        budget.spent(preview)
    if preview is None:
        output.note = output.note or "no preview: even a small one would not fit the inline budget"
        return
    output.preview = preview


async def _download(client: Upstream, output: Output, fetching: Fetching) -> bytes | None:
    assert output.url is not None
    try:
        data = await client.download(
            output.url, max_bytes=MAX_OUTPUT_BYTES, seconds=fetching.seconds, allow_private=fetching.allow_private
        )
    except RefusedAddressError as exc:
        output.note = f"not fetched: {exc.message}"
        return None
    except WaveSpeedError as exc:
        output.note = f"no preview: fetching the output failed ({exc.message}); the URL may still work, later too"
        return None
    if data is None:
        output.note = f"no preview: the output is larger than {MAX_OUTPUT_BYTES // 2**20} MB; open the URL"
    return data


async def _settle(
    output: Output, raw: bytes | str, prediction_id: str, fetching: Fetching, budget: PreviewBudget
) -> None:
    """One output's bytes (or WaveSpeed's base64 of them) made ready in one worker-thread pass, with its share of
    the budget. A base64 one is always saved (in the default folder when no output folder is set): it has no URL."""
    if isinstance(raw, str):
        folder = fetching.output_dir or default_output_dir()
    else:  # a composite's material is not: the composite is
        folder = None if fetching.keep else fetching.output_dir
    if fetching.keep:  # a composite's material: verified and kept in memory, where the composite is made from it
        await anyio.to_thread.run_sync(_settled, output, raw, prediction_id, folder, None)
        return
    try:
        await anyio.to_thread.run_sync(_settled, output, raw, prediction_id, folder, budget.share())
    finally:
        budget.spent(output.preview)
        output.data = None  # the preview and the file hold the rest


def _settled(output: Output, raw: bytes | str, prediction_id: str, folder: Path | None, share: int | None) -> None:
    """Blocking: decode base64, verify the image before anything is written, keep it in `folder`, and preview it
    within `share` (None: no preview). One decode serves both: only as far as the preview needs (see below)."""
    if isinstance(raw, str):
        try:
            raw = decode_base64(raw)
        except (binascii.Error, ValueError):
            output.note = "the base64 output could not be decoded"
            return
    # An original that is its own preview needs no pixels: a JPEG is then verified at 1/8 scale. One that is too big
    # keeps the pixels of its verification, at the scale of its largest possible preview, to be scaled down from.
    verified = verified_image(raw, keep=None if share is None else pixels_needed(len(raw), share))
    if verified is None:  # before anything is written: an HTML error page must never land in a folder as an image
        output.note = (
            f"no preview: the output URL returned {len(raw)} bytes that are not a readable image (corrupt, "
            "truncated or something else); downloading it again later may work"
            if output.url is not None
            else f"the base64 output ({len(raw)} bytes) is not a readable image, so it was not saved"
        )
        return
    output.mime, output.data = verified.mime, raw
    if folder is not None:
        _save(output, folder, prediction_id, raw)
    if share is not None:
        _preview(output, raw, verified, share)


def _preview(output: Output, data: bytes, verified: VerifiedImage, share: int) -> None:
    try:
        if verified.picture is None:
            output.preview = make_preview(data, verified.mime, share)
        else:
            output.preview = preview_of(verified.picture, data, verified.mime, share, size=verified.size)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's words for truncated or corrupt data
        _noted(output, f"no preview: the image could not be decoded ({exc}); the link may still work")
        return
    if output.preview is None:
        output.note = output.note or "no preview: even a small one would not fit the inline budget"


def _save(output: Output, folder: Path, prediction_id: str, data: bytes) -> None:
    extension = EXTENSIONS.get(output.mime or "", "bin")
    try:
        output.saved_path = save_output(folder, prediction_id, output.index, extension, data)
    except OSError as exc:
        log.warning("could not save output %d of %s to %s: %s", output.index, prediction_id, folder, exc)
        output.note = f"could not save the image to {folder}: {exc.strerror or exc}"


def _noted(output: Output, why: str) -> None:
    output.note = f"{output.note}; {why}" if output.note else why
