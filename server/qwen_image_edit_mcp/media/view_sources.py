"""Pictures for the image viewer: read only from where this server may read, bounded, and scaled off the event loop.

An http(s) source is fetched only when the caller vouches that this server handed it out (see `surface/viewer.py`),
without credentials, capped in size and time; a local source must lie in the allowed folders or the output folder
(over HTTP, where callers are remote, the output folder only for the files this server handed out).
The preview fits the inline budget, like the previews in tool results.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import partial
from typing import Final
from urllib.parse import urlsplit

import anyio.to_thread

from ..addresses import is_private_host
from ..config import DEFAULT_INLINE_MAX_BYTES, Settings
from ..errors import InputError, WaveSpeedError
from ..folders import default_output_dir
from ..upstream.limits import MAX_OUTPUT_BYTES
from ..upstream.protocol import Upstream
from .image_bytes import verified_image
from .inline_images import looks_like_base64
from .local_files import read_local_image
from .previews import Preview, make_preview, pixels_needed, preview_of

FETCH_TIMEOUT: Final = 20.0  # a preview is for a person looking at the view: it must not hang for a minute
_TEXT_RESERVE: Final = 2_000  # the result's text and structured content


class PreviewRefused(Exception):
    """Why a source cannot be previewed, worded for the caller."""


@dataclass(frozen=True)
class ViewPreview:
    data: bytes
    mime: str
    size: tuple[int, int]
    original: tuple[int, int]

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


async def load_view_preview(
    client: Upstream, settings: Settings, source: str, max_side: int, *, handed_out: bool
) -> ViewPreview:
    """A preview of `source` whose longer side is at most `max_side`; raises PreviewRefused with the reason.
    `handed_out`: the source appeared in this server's results (an output or input URL, a saved file)."""
    data = await _read_source(client, settings, source.strip(), handed_out=handed_out)
    budget = (settings.inline_max_bytes or DEFAULT_INLINE_MAX_BYTES) - _TEXT_RESERVE
    preview = await anyio.to_thread.run_sync(partial(_scaled, data, budget, max_side))  # a decode: off the event loop
    if preview is None:
        raise PreviewRefused("source: even the smallest preview would not fit this server's inline size limit.")
    return ViewPreview(preview.data, preview.mime, preview.size, preview.original_size or preview.size)


async def _read_source(client: Upstream, settings: Settings, source: str, *, handed_out: bool) -> bytes:
    if source.lower().startswith(("http://", "https://")):
        if not handed_out:
            raise PreviewRefused(
                "source: only image URLs that this server returned (outputs and inputs of its edits) can be "
                "previewed; this one is not among them. Open it in a browser instead."
            )
        return await _download(client, settings, source)
    if source.lower().startswith("data:") or looks_like_base64(source):
        raise PreviewRefused("source: inline image data needs no preview; give a URL or a file path.")
    folders = settings.allowed_dirs
    if handed_out or not settings.remote_callers:
        # Over HTTP the output folder holds every caller's edits: a file there is shown only if it was handed out.
        folders = (*folders, (settings.output_dir or default_output_dir()).resolve())
    elif not folders:
        raise PreviewRefused(
            "source: over HTTP, only files this server handed out (an edit's saved_paths) can be previewed; this "
            "one is not among them. Give its output URL instead."
        )
    try:
        local = await anyio.to_thread.run_sync(partial(read_local_image, source, folders, field="source"))
    except InputError as exc:
        raise PreviewRefused(str(exc)) from None
    return local.data


async def _download(client: Upstream, settings: Settings, url: str) -> bytes:
    # As for outputs: nothing on this machine or a private network, unless WaveSpeed itself is local (an emulator).
    local = is_private_host(urlsplit(settings.base_url).hostname or "")
    if not local and is_private_host(urlsplit(url).hostname or ""):
        raise PreviewRefused("source: the URL points at this machine or a private network; it is not fetched.")
    try:
        data = await client.download(url, max_bytes=MAX_OUTPUT_BYTES, seconds=FETCH_TIMEOUT, allow_private=local)
    except WaveSpeedError as exc:
        raise PreviewRefused(f"source: fetching the image failed ({exc.message}); the URL may have expired.") from None
    if data is None:
        raise PreviewRefused(f"source: the image is larger than {MAX_OUTPUT_BYTES // 2**20} MB; open the URL instead.")
    return data


def _scaled(data: bytes, budget: int, max_side: int) -> Preview | None:
    """Blocking Pillow work, for a worker thread: the image verified and previewed from one decode, at the scale the
    preview needs; a broken or oversized image is refused, not raised."""
    from PIL import Image

    verified = verified_image(data, keep=pixels_needed(len(data), budget, max_side))
    if verified is None:
        raise PreviewRefused("source: what it points at is not a readable image (PNG, JPEG, WebP, GIF, BMP or TIFF).")
    try:
        if verified.picture is None:  # the image is its own preview
            return make_preview(data, verified.mime, budget, max_side=max_side)
        return preview_of(verified.picture, data, verified.mime, budget, size=verified.size, max_side=max_side)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PreviewRefused(f"source: the image could not be decoded ({exc}).") from None
