"""What a run of bytes is: its image type by signature, confirmed by decoding; and WaveSpeed's base64 decoded."""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
from typing import Final

_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
EXTENSIONS: Final[dict[str, str]] = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type the bytes really are (by their signature, not a name or a header), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


# Far above any input WaveSpeed takes or output it makes (1536x1536 is 2.4 MP), far below a decompression bomb: the
# header says the size, so a tiny file that would unpack to gigabytes is refused before a pixel is decoded.
MAX_PIXELS: Final = 50_000_000


def verified_image_type(data: bytes) -> str | None:
    """The MIME type, only if the bytes also decode as that image, every pixel of it, and its size is sane.
    Blocking (Pillow, a full decode): call from a worker thread."""
    mime = sniff_image_type(data)
    if mime is None:
        return None
    from PIL import Image, UnidentifiedImageError  # imported on first use: start-up stays light

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.verify()  # checksums (PNG's CRCs), which decoding skips
            # verify() barely reads a JPEG: one cut to a tenth passes it. Only decoding every pixel finds the cut
            # (with Pillow's LOAD_TRUNCATED_IMAGES off, its default, which nothing in this package changes).
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError):
        return None
    except (SyntaxError, ValueError, EOFError, IndexError, struct.error):
        return None  # Pillow's plugins raise these for malformed headers
    return mime


def decode_base64(text: str) -> bytes:
    """Decode WaveSpeed's naked base64 (and, defensively, a `data:...;base64,` one)."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        # Outputs are megabytes: decode in place, and copy only for the rare string that carries line breaks.
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return base64.b64decode("".join(text.split()), validate=True)
