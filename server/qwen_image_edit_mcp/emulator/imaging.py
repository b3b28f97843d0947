"""Real output images for the emulator, made with Pillow.

The output starts from the input image when the emulator can read it without leaving the machine (a data URI,
one of its own uploads/outputs, or a loopback URL); any other URL is never fetched and a gradient stands in.
A visible, deterministic tint plus an "EMULATOR" mark make it obvious the picture did not come from the model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import unquote_to_bytes, urlsplit

import anyio.to_thread
import httpx
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from ..addresses import is_loopback_host

OutputFormat = Literal["jpeg", "png", "webp"]
CONTENT_TYPES: dict[OutputFormat, str] = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
DEFAULT_SIZE = (1024, 1024)
FETCH_TIMEOUT = 5.0
MAX_INPUT_BYTES = 64 * 1024 * 1024
TINT_ALPHA = 0.3

# Given a URL, say whether it is one of the emulator's own and, if so, its bytes (None when missing).
OwnMediaLookup = Callable[[str], Awaitable[tuple[bool, bytes | None]]]


class InputImageError(Exception):
    """The input cannot be used; the prediction fails with this WaveSpeed task code (data.code)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def download_failed() -> InputImageError:
    # WaveSpeed's wording for an input URL it cannot fetch (error code 1402, "Media Access Failed").
    return InputImageError(1402, "Failed to download image from the provided URL.")


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        return False
    return is_loopback_host(parts.hostname)


def decode_data_uri(uri: str) -> bytes:
    header, comma, payload = uri.partition(",")
    if not comma:
        raise InputImageError(1401, "Invalid parameter 'image': malformed data URI.")
    if header.endswith(";base64"):
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise InputImageError(1401, "Invalid parameter 'image': the data URI is not valid base64.") from error
    return unquote_to_bytes(payload)


async def _fetch_loopback(url: str) -> bytes:
    # trust_env=False: no proxy may turn a loopback fetch into outbound traffic; no redirects for the same reason.
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False, trust_env=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise download_failed()
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > MAX_INPUT_BYTES:
                    raise download_failed()
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        raise download_failed() from error


async def load_input(image: str, own_media: OwnMediaLookup) -> bytes | None:
    """The input image's bytes, or None when it lives off this machine (then an image is synthesized)."""
    if image.startswith("data:"):
        return decode_data_uri(image)
    if not image.startswith(("http://", "https://")):
        raise InputImageError(1401, "Invalid parameter 'image': expected an http(s) URL or a data URI.")
    is_own, data = await own_media(image)
    if is_own:
        if data is None:
            raise download_failed()
        return data
    if is_loopback_url(image):
        return await _fetch_loopback(image)
    return None


def _decode_image(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            return opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InputImageError(1401, "Invalid parameter 'image': the image could not be decoded.") from error


def _tint(prompt: str, seed: int, index: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{seed}\0{index}\0{prompt}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    # Pillow's stub types `size` as possibly a numpy array, which strict pyright reports as partially unknown.
    return image.resize(size, Image.Resampling.BILINEAR)  # pyright: ignore[reportUnknownMemberType]


def _gradient(size: tuple[int, int]) -> Image.Image:
    horizontal = _resize(Image.linear_gradient("L").rotate(90), size)
    vertical = _resize(Image.linear_gradient("L"), size)
    return Image.merge("RGB", (horizontal, vertical, Image.new("L", size, 128)))


def _mark(image: Image.Image) -> None:
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, image.height // 24))
    margin = max(4, image.height // 64)
    left, top, right, bottom = draw.textbbox((margin, margin), "EMULATOR", font=font)
    draw.rectangle((left - margin // 2, top - margin // 2, right + margin // 2, bottom + margin // 2), fill="black")
    draw.text((margin, margin), "EMULATOR", fill="white", font=font)


def _encode(image: Image.Image, output_format: OutputFormat, *, noisy: bool) -> bytes:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.save(buffer, "JPEG", quality=90)
    elif output_format == "png":
        # Noise does not compress; the fastest level gives the same size.
        image.save(buffer, "PNG", compress_level=1 if noisy else 6)
    else:
        image.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def _inset(image: Image.Image, others: list[Image.Image]) -> None:
    """The other inputs as thumbnails along the bottom right, so a multi-image edit shows what it was given."""
    side = max(16, min(image.size) // 4)
    margin = max(2, side // 16)
    right = image.width - margin
    for other in reversed(others):
        thumb = other.copy()
        thumb.thumbnail((side, side))
        left, top = right - thumb.width, image.height - margin - thumb.height
        ImageDraw.Draw(image).rectangle((left - 2, top - 2, right + 1, image.height - margin + 1), outline="white")
        image.paste(thumb, (left, top))
        right = left - 2 * margin


def _label(image: Image.Image, lines: list[str]) -> None:
    """Writes the LoRAs applied along the bottom left."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, image.height // 32))
    y = image.height - max(4, image.height // 64)
    for line in reversed(lines):
        left, top, right, bottom = draw.textbbox((4, y), line, font=font, anchor="ls")
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill="black")
        draw.text((4, y), line, fill="white", font=font, anchor="ls")
        y = top - 6


def _edited(start: Image.Image, prompt: str, seed: int, index: int) -> Image.Image:
    if "invert" in prompt.lower():
        # Every pixel changes, predictably: what a test needs to see which region of a masked edit was kept.
        return ImageOps.invert(start)
    return Image.blend(start, Image.new("RGB", start.size, _tint(prompt, seed, index)), TINT_ALPHA)


def render_outputs_sync(
    sources: list[bytes | None],
    *,
    prompt: str,
    seed: int,
    size: tuple[int, int] | None,
    output_format: OutputFormat,
    loras: list[str] | None = None,
    count: int = 1,
    noisy: bool = False,
) -> list[bytes]:
    """Blocking Pillow work; call through `render_outputs` from async code. The first source is edited; the
    others (multi-image models) are inset, and the LoRAs named, so the result shows what was asked."""
    decoded = [_decode_image(source) if source is not None else None for source in sources] or [None]
    base = decoded[0]
    target = size or (base.size if base is not None else DEFAULT_SIZE)
    outputs: list[bytes] = []
    for index in range(count):
        if noisy:
            # Random pixels: incompressible, so the output is as large as the format allows.
            image = Image.frombytes("RGB", target, os.urandom(target[0] * target[1] * 3))
        else:
            start = base if base is not None else _gradient(target)
            if start.size != target:
                start = _resize(start, target)
            image = _edited(start, prompt, seed, index)
            _inset(image, [other if other is not None else _gradient(target) for other in decoded[1:]])
            _label(image, [f"LoRA {path}" for path in loras or []])
            _mark(image)
        outputs.append(_encode(image, output_format, noisy=noisy))
    return outputs


async def render_outputs(
    sources: list[bytes | None],
    *,
    prompt: str,
    seed: int,
    size: tuple[int, int] | None,
    output_format: OutputFormat,
    loras: list[str] | None = None,
    count: int = 1,
    noisy: bool = False,
) -> list[bytes]:
    def work() -> list[bytes]:
        return render_outputs_sync(
            sources,
            prompt=prompt,
            seed=seed,
            size=size,
            output_format=output_format,
            loras=loras,
            count=count,
            noisy=noisy,
        )

    # Encoding a 1536*1536 image takes long enough to stall every other request if run on the event loop.
    return await anyio.to_thread.run_sync(work)
