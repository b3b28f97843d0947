"""What the caller passed as `image`, turned into what WaveSpeed takes, before anything is paid for.

- http(s) URL: passed through untouched, after checks that save a job from certain failure (credentials in the URL,
  hosts WaveSpeed cannot reach).
- local file (absolute, `~` or `file://`): read only inside the allowed directories, verified to be an image by its
  content, uploaded to WaveSpeed's storage (once per content), and the download_url sent.
- `data:` URI or bare base64: decoded and verified to be an image; sent inline as a data URI when small, uploaded
  when large (inline bytes inflate the request by a third and no size limit is documented).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import anyio.to_thread

from .errors import WaveSpeedError
from .files import LocalFileError, looks_like_path, read_local_image
from .image_bytes import EXTENSIONS, decode_base64, verified_image_type
from .uploads import Uploader

MAX_INLINE_DATA_BYTES: Final = 20 * 1024 * 1024  # the most this server accepts as data: URI or base64 at all
UPLOAD_ABOVE_BYTES: Final = 1024 * 1024  # larger decoded images go through storage rather than inline
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)
_BARE_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]{64,}={0,2}\s*$")


class ImageInputError(ValueError):
    """The `image` argument cannot be used; the message says why and what would work."""


@dataclass(frozen=True)
class ImageInputs:
    """What resolving an input may use: the API's address, the readable folders, and the uploader."""

    api_base_url: str
    allowed_dirs: Sequence[Path]
    uploader: Uploader | None


@dataclass(frozen=True)
class ResolvedImage:
    value: str  # what WaveSpeed receives as `image`
    note: str | None = None  # for the log and the progress message: how it got there


async def resolve_image(value: str, inputs: ImageInputs) -> ResolvedImage:
    """What to send to WaveSpeed as `image`, or ImageInputError. Submits nothing; may upload a local image."""
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return ResolvedImage(_checked_url(text, api_base_url=inputs.api_base_url))
    if lowered.startswith("data:"):
        return await _from_bytes(_data_uri_bytes(text), "data: URI", inputs)
    # Before paths: base64 of a JPEG starts with "/9j/", which looks like an absolute path.
    if _BARE_BASE64.match(text) and (data := _image_from_base64(text)) is not None:
        return await _from_bytes(data, "base64 string", inputs)
    if looks_like_path(text):
        return await _from_local_file(text, inputs)
    if _BARE_BASE64.match(text):
        raise ImageInputError("image: the base64 string does not decode to a readable image (PNG, JPEG, WebP...).")
    raise ImageInputError(
        f"image must be a public http(s) URL, a local file path (absolute or ~), a data:image/...;base64,... URI or "
        f"base64-encoded image bytes; got {_short(text)}."
    )


async def _from_local_file(text: str, inputs: ImageInputs) -> ResolvedImage:
    try:
        image = await anyio.to_thread.run_sync(read_local_image, text, list(inputs.allowed_dirs))
    except LocalFileError as exc:
        raise ImageInputError(str(exc)) from None
    mime = verified_image_type(image.data) or "application/octet-stream"
    url, reused = await _upload(image.data, image.path.name, mime, inputs)
    return ResolvedImage(url, f"{'reused the upload of' if reused else 'uploaded'} {image.path}")


async def _from_bytes(data: bytes, what: str, inputs: ImageInputs) -> ResolvedImage:
    mime = await anyio.to_thread.run_sync(verified_image_type, data)
    if mime is None:
        raise ImageInputError(
            f"image: the {what} ({len(data)} bytes) does not decode to a readable image. "
            "Send a PNG, JPEG, WebP, GIF, BMP or TIFF."
        )
    if len(data) <= UPLOAD_ABOVE_BYTES or inputs.uploader is None:
        # Re-labelled with what the bytes really are: a PNG declared as image/jpeg would confuse the decoder upstream.
        return ResolvedImage(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")
    url, reused = await _upload(data, f"image.{EXTENSIONS.get(mime, 'bin')}", mime, inputs)
    return ResolvedImage(url, f"{'reused the upload of' if reused else 'uploaded'} the {what} ({len(data)} bytes)")


async def _upload(data: bytes, filename: str, mime: str, inputs: ImageInputs) -> tuple[str, bool]:
    if inputs.uploader is None:
        raise ImageInputError("image: this server cannot upload files (no uploader configured); pass a public URL.")
    try:
        return await inputs.uploader.upload(data, filename=filename, content_type=mime)
    except WaveSpeedError as exc:
        raise ImageInputError(
            f"image: uploading it to WaveSpeed failed, so nothing was submitted: {exc.message}"
        ) from None


def _image_from_base64(text: str) -> bytes | None:
    try:
        data = _base64_bytes(text, "base64 string")
    except ImageInputError:
        return None
    return data if verified_image_type(data) is not None else None


def _data_uri_bytes(uri: str) -> bytes:
    header = _DATA_URI.match(uri)
    if header is None or not header.group("b64"):
        raise ImageInputError("image: a data: URI must be base64-encoded, like data:image/png;base64,iVBORw0KGgo...")
    return _base64_bytes(uri[header.end() :], "data: URI")


def _base64_bytes(payload: str, what: str) -> bytes:
    if len(payload) * 3 // 4 > MAX_INLINE_DATA_BYTES:
        raise ImageInputError(
            f"image: the {what} holds more than {MAX_INLINE_DATA_BYTES // (1024 * 1024)} MB; "
            "pass a URL or a local file path instead."
        )
    try:
        return decode_base64(payload)
    except (binascii.Error, ValueError):
        raise ImageInputError(f"image: the {what} is not valid base64.") from None


def _checked_url(url: str, *, api_base_url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ImageInputError(f"image: {_short(url)} is not a valid URL.") from None
    if not parts.hostname:
        raise ImageInputError(f"image: the URL {_short(url)} has no host name.")
    if parts.username or parts.password:
        raise ImageInputError(
            "image: the URL contains credentials (user:password@). WaveSpeed fetches the image itself and would see "
            "them; use a public or pre-signed URL instead."
        )
    if any(ch.isspace() for ch in url):
        raise ImageInputError("image: the URL contains spaces; percent-encode them (%20).")
    if _is_private(parts.hostname) and not _is_private(urlsplit(api_base_url).hostname or ""):
        raise ImageInputError(
            f"image: WaveSpeed downloads the image from the internet and cannot reach {parts.hostname}, a local or "
            "private address. Use a publicly reachable URL, or a local file path, which the server uploads."
        )
    return url


def _is_private(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
