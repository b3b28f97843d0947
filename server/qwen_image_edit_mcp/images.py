"""Images in and out: turn what the caller passed as `image` into what WaveSpeed takes, and read image bytes.

Input rules: an http(s) URL goes to WaveSpeed untouched (after checks that save a paid job from certain failure);
a `data:` URI goes through only if it decodes to a real image. Local files are refused with a clear message for
now. Everything here runs before any request is made, so a refusal costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

import anyio.to_thread

MAX_DATA_URI_BYTES: Final = 20 * 1024 * 1024  # WaveSpeed's documented cap for uploaded images
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")
_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


class ImageInputError(ValueError):
    """The `image` argument cannot be used; the message says why and what would work."""


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type the bytes really are (by their signature, not a name or a header), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


def decode_base64(text: str) -> bytes:
    """Decode WaveSpeed's naked base64 (and, defensively, a `data:...;base64,` one)."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    return base64.b64decode("".join(text.split()), validate=True)


async def resolve_image(value: str, *, api_base_url: str) -> str:
    """What to send to WaveSpeed as `image`, or ImageInputError. Never sends anything itself."""
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return _checked_url(text, api_base_url=api_base_url)
    if lowered.startswith("data:"):
        return await _checked_data_uri(text)
    if lowered.startswith("file:") or text.startswith(("/", "~", "./", "../", "\\\\")) or _WINDOWS_PATH.match(text):
        raise ImageInputError(
            f"image: local files are not supported yet ({_short(text)}). Pass a public http(s) URL of the image, "
            "or its bytes as a data:image/png;base64,... URI."
        )
    raise ImageInputError(
        f"image must be a public http(s) URL or a data:image/...;base64,... URI; got {_short(text)}. "
        "Other schemes and bare text are not accepted."
    )


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
            "private address. Use a publicly reachable URL, or pass the bytes as a data:image/...;base64,... URI."
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


async def _checked_data_uri(uri: str) -> str:
    header = _DATA_URI.match(uri)
    if header is None or not header.group("b64"):
        raise ImageInputError("image: a data: URI must be base64-encoded, like data:image/png;base64,iVBORw0KGgo...")
    payload = uri[header.end() :]
    if len(payload) * 3 // 4 > MAX_DATA_URI_BYTES:
        raise ImageInputError(
            f"image: the data: URI holds more than {MAX_DATA_URI_BYTES // (1024 * 1024)} MB; pass a URL instead."
        )
    try:
        data = decode_base64(payload)
    except (binascii.Error, ValueError):
        raise ImageInputError("image: the data: URI is not valid base64.") from None
    mime = await anyio.to_thread.run_sync(_verified_image_type, data)
    if mime is None:
        declared = header.group("mime") or "no type"
        raise ImageInputError(
            f"image: the data: URI ({declared}, {len(data)} bytes) does not decode to a readable image. "
            "Send a PNG, JPEG, WebP, GIF, BMP or TIFF."
        )
    # Re-labelled with what the bytes really are: a PNG declared as image/jpeg would confuse the decoder upstream.
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _verified_image_type(data: bytes) -> str | None:
    mime = sniff_image_type(data)
    if mime is None:
        return None
    from PIL import Image, UnidentifiedImageError  # imported on first use: start-up stays light

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None
    return mime


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
