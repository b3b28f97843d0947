"""What the caller passed as an image, turned into what WaveSpeed takes, before anything is paid for.

- http(s) URL: passed through untouched, after checks that save a job from certain failure (credentials in the URL,
  hosts WaveSpeed cannot reach).
- local file (absolute, `~` or `file://`): read only inside the allowed directories, verified to be an image by its
  content, uploaded to WaveSpeed's storage (once per content), and the download_url sent.
- `data:` URI or bare base64: decoded and verified to be an image; sent inline as a data URI when small, uploaded
  when large (inline bytes inflate the request by a third and no size limit is documented).

Every byte of the caller's is looked at in one pass in a worker thread (decoding, Pillow's check), with its size
bounded first; the event loop only sees the answer. Errors name the field (`image`, `images[1]`, `mask`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import anyio.to_thread

from ..addresses import is_private_host
from ..errors import InputError, WaveSpeedError, quoted
from .image_bytes import EXTENSIONS, verified_image_type
from .inline_images import decode_inline, looks_like_base64
from .local_files import looks_like_path, read_local_image
from .uploads import Uploader

UPLOAD_ABOVE_BYTES: Final = 1024 * 1024  # larger decoded images go through storage rather than inline
MAX_URL_CHARS: Final = 16_384  # far beyond any real image URL; checked before anything else looks at one


@dataclass(frozen=True)
class ImageInputs:
    """What resolving an input may use: the API's address, the readable folders, and the uploader."""

    api_base_url: str
    allowed_dirs: Sequence[Path]
    uploader: Uploader | None


@dataclass(frozen=True)
class ResolvedImage:
    value: str  # what WaveSpeed receives
    note: str | None = None  # for the log and the progress message: how it got there
    data: bytes | None = field(default=None, repr=False)  # the verified bytes, when they were read (not for URLs)


@dataclass(frozen=True)
class _Bytes:
    data: bytes
    mime: str
    what: str  # "data: URI", "base64 string" or the file's path
    path: Path | None = None


@dataclass(frozen=True)
class ReadImage:
    """One image argument checked and read, with nothing sent anywhere yet: an http(s) URL (passed to WaveSpeed
    untouched), or verified bytes (`deliver` sends them inline or uploads them)."""

    argument: str  # how refusals name it: "image", "images[1]"
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    mime: str = ""
    what: str = ""  # "the data: URI", "the base64 string (N bytes)" or the file's path
    path: Path | None = None


async def read_input(value: str, inputs: ImageInputs, *, field: str = "image") -> ReadImage:
    """The argument checked (a URL) or read and verified (bytes), or InputError naming the field. Sends nothing."""
    text = value.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        return ReadImage(field, url=checked_url(text, api_base_url=inputs.api_base_url, field=field))
    found = await anyio.to_thread.run_sync(_read_bytes, text, tuple(inputs.allowed_dirs), field)
    return ReadImage(field, data=found.data, mime=found.mime, what=found.what, path=found.path)


async def deliver(image: ReadImage, inputs: ImageInputs) -> ResolvedImage:
    """What WaveSpeed receives for a read image: the URL, the bytes inline when small, else an upload (reused by
    content). InputError when an upload fails: nothing was submitted."""
    if image.url is not None or image.data is None:
        return ResolvedImage(image.url or "")
    if image.path is None and (len(image.data) <= UPLOAD_ABOVE_BYTES or inputs.uploader is None):
        # Re-labelled with what the bytes really are: a PNG declared as image/jpeg would confuse the decoder upstream.
        inline = f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"
        return ResolvedImage(inline, None, image.data)
    name = image.path.name if image.path else f"image.{EXTENSIONS.get(image.mime, 'bin')}"
    url, reused = await _upload(image.data, name, image.mime, inputs, image.argument)
    return ResolvedImage(url, f"{'reused the upload of' if reused else 'uploaded'} {image.what}", image.data)


async def resolve_image(value: str, inputs: ImageInputs, *, field: str = "image") -> ResolvedImage:
    """What to send to WaveSpeed for one image argument, or InputError. Submits nothing; may upload."""
    return await deliver(await read_input(value, inputs, field=field), inputs)


async def read_image(value: str, inputs: ImageInputs, *, field: str) -> bytes | None:
    """The verified bytes of a local file, data: URI or base64 image, read as `resolve_image` reads them; None for
    an http(s) URL, once checked (the caller fetches it). Sends nothing to WaveSpeed."""
    return (await read_input(value, inputs, field=field)).data


def _read_bytes(text: str, allowed_dirs: tuple[Path, ...], field: str) -> _Bytes:
    """Blocking: classify, decode or read, and verify the image, once. Runs in a worker thread."""
    if text[:5].lower() == "data:":
        data = decode_inline(text, field=field)
        return _Bytes(data, _verified(data, "data: URI", field), "the data: URI")
    # Before paths: base64 of a JPEG starts with "/9j/", which looks like an absolute path.
    if looks_like_base64(text):
        try:
            data = decode_inline(text, field=field)
        except InputError:
            data = b""
        if (mime := verified_image_type(data)) is not None:
            return _Bytes(data, mime, f"the base64 string ({len(data)} bytes)")
        if not looks_like_path(text):
            raise InputError(f"{field}: the base64 string does not decode to a readable image (PNG, JPEG, WebP...).")
    if looks_like_path(text):
        image = read_local_image(text, allowed_dirs, field=field)
        return _Bytes(image.data, image.mime, str(image.path), image.path)
    raise InputError(
        f"{field} must be a public http(s) URL, a local file path (absolute or ~), a data:image/...;base64,... URI "
        f"or base64-encoded image bytes; got {quoted(text)}."
    )


def _verified(data: bytes, what: str, field: str) -> str:
    mime = verified_image_type(data)
    if mime is None:
        raise InputError(
            f"{field}: the {what} ({len(data)} bytes) does not decode to a readable image. "
            "Send a PNG, JPEG, WebP, GIF, BMP or TIFF."
        )
    return mime


async def _upload(data: bytes, filename: str, mime: str, inputs: ImageInputs, field: str) -> tuple[str, bool]:
    if inputs.uploader is None:
        raise InputError(f"{field}: this server cannot upload files (no uploader configured); pass a public URL.")
    try:
        return await inputs.uploader.upload(data, filename=filename, content_type=mime)
    except WaveSpeedError as exc:
        raise InputError(
            f"{field}: uploading it to WaveSpeed failed, so nothing was submitted: {exc.message}"
        ) from None


def checked_url(url: str, *, api_base_url: str, field: str = "image") -> str:
    """The URL, if WaveSpeed could fetch it; InputError naming what is wrong otherwise."""
    if len(url) > MAX_URL_CHARS:
        raise InputError(f"{field}: the URL is {len(url)} characters long; at most {MAX_URL_CHARS} are accepted.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InputError(f"{field}: {quoted(url)} is not a valid URL.") from None
    if not parts.hostname:
        raise InputError(f"{field}: the URL {quoted(url)} has no host name.")
    if parts.username or parts.password:
        raise InputError(
            f"{field}: the URL contains credentials (user:password@). WaveSpeed fetches the image itself and would "
            "see them; use a public or pre-signed URL instead."
        )
    if any(ch.isspace() for ch in url):
        raise InputError(f"{field}: the URL contains spaces; percent-encode them (%20).")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InputError(f"{field}: the URL contains control characters (such as NUL); remove them.")
    if is_private_host(parts.hostname) and not is_private_host(urlsplit(api_base_url).hostname or ""):
        raise InputError(
            f"{field}: WaveSpeed downloads the image from the internet and cannot reach {parts.hostname}, a local "
            "or private address. Use a publicly reachable URL, or a local file path, which the server uploads."
        )
    return url
