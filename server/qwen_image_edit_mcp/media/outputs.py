"""A finished prediction's outputs, made ready to hand over: fetched or decoded, kept on disk, previewed.

Outputs are fetched only from the URLs the API returned, capped in size and time. Base64 outputs have no URL, so
they are always saved. Previews share the inline budget: an output whose original does not fit is previewed
downscaled. Nothing here builds MCP content: `surface/rendering.py` does, from the `Output`s made here.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import anyio.to_thread

from ..errors import WaveSpeedError
from ..models import Prediction
from ..wavespeed.client import WaveSpeedClient
from ..wavespeed.http_client import DOWNLOAD_TIMEOUT, MAX_OUTPUT_BYTES
from .image_bytes import EXTENSIONS, decode_base64, sniff_image_type
from .previews import Preview, base64_size, make_preview
from .saving import default_output_dir, output_filename, save_output

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


async def gather_outputs(
    client: WaveSpeedClient, prediction: Prediction, *, inline_max_bytes: int, output_dir: Path | None
) -> list[Output]:
    """Fetch or decode every output, keep it on disk where asked (always for base64), then fit the previews."""
    outputs: list[Output] = []
    for index, value in enumerate(prediction.outputs, start=1):
        output = Output(index, url=value if value.startswith(("http://", "https://")) else None)
        if output.url is not None:
            if output_dir is not None or inline_max_bytes > 0:
                await _download(client, output, prediction.id, output_dir)
        else:
            await _decode_and_save(output, value, prediction.id, output_dir or default_output_dir())
        outputs.append(output)
    await _fit_previews(outputs, inline_max_bytes - _RESERVE - _RESERVE_PER_OUTPUT * len(outputs))
    for output in outputs:
        output.data = None  # the previews and files hold what is needed; free the originals
    return outputs


async def _download(client: WaveSpeedClient, output: Output, prediction_id: str, output_dir: Path | None) -> None:
    assert output.url is not None
    suffix = PurePosixPath(urlsplit(output.url).path).suffix.lstrip(".").lower()
    extension = suffix if suffix in EXTENSIONS.values() or suffix == "jpg" else "img"
    destination = output_dir / output_filename(prediction_id, output.index, extension) if output_dir else None
    try:
        data = await client.download(
            output.url, max_bytes=MAX_OUTPUT_BYTES, timeout=DOWNLOAD_TIMEOUT, destination=destination
        )
    except (WaveSpeedError, OSError) as exc:
        reason = exc.message if isinstance(exc, WaveSpeedError) else str(exc)
        output.note = f"no preview: fetching the output failed ({reason}); the URL may still work"
        return
    if data is None:
        output.note = f"no preview: the output is larger than {MAX_OUTPUT_BYTES // 2**20} MB; open the URL"
        return
    output.mime = sniff_image_type(data)
    output.saved_path = destination
    if output.mime is None:
        output.note = "no preview: the output URL did not return an image"
        return
    if destination is not None and extension == "img":
        # The URL named no known image type: name the file by what it turned out to be.
        named = destination.with_suffix("." + EXTENSIONS.get(output.mime, "img"))
        output.saved_path = await anyio.to_thread.run_sync(destination.replace, named)
    output.data = data


async def _decode_and_save(output: Output, value: str, prediction_id: str, directory: Path) -> None:
    try:
        data = decode_base64(value)
    except (binascii.Error, ValueError):
        output.note = "the base64 output could not be decoded"
        return
    output.mime = sniff_image_type(data) or "application/octet-stream"
    output.data = data
    try:
        output.saved_path = await anyio.to_thread.run_sync(
            save_output, directory, prediction_id, output.index, EXTENSIONS.get(output.mime, "bin"), data
        )
    except OSError as exc:
        log.warning("could not save output %d of %s to %s: %s", output.index, prediction_id, directory, exc)
        output.note = f"could not save the image to {directory}: {exc.strerror or exc}"


async def _fit_previews(outputs: list[Output], budget: int) -> None:
    """Share the budget: each output may use what is left divided by the outputs still to come."""
    pending = [(output, output.data, output.mime) for output in outputs if output.data is not None and output.mime]
    for position, (output, data, mime) in enumerate(pending):
        share = budget // (len(pending) - position)
        preview = await anyio.to_thread.run_sync(make_preview, data, mime, share)
        if preview is None:
            output.note = output.note or "no preview: even a small one would not fit the inline budget"
            continue
        output.preview = preview
        budget -= base64_size(len(preview.data))
