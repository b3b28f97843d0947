"""What a run of bytes is: its image type by signature, confirmed by decoding; and WaveSpeed's base64 decoded."""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

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


@dataclass(frozen=True)
class VerifiedImage:
    """Bytes that decoded whole as the image type their signature says."""

    mime: str
    size: tuple[int, int]  # the image's own, as its header says
    picture: PILImage | None = None  # its pixels, when asked for: a JPEG's perhaps at a reduced scale (see `draft`)


def verified_image_type(data: bytes) -> str | None:
    """The MIME type, only if the bytes also decode as that image, every pixel of it, and its size is sane.
    Blocking (Pillow, a decode): call from a worker thread."""
    verified = verified_image(data)
    return verified.mime if verified is not None else None


def verified_image(data: bytes, *, keep: Callable[[tuple[int, int]], int | None] | None = None) -> VerifiedImage | None:
    """As `verified_image_type`, decoding the bytes once. `keep`, given the image's size, says whether to keep the
    decoded pixels: None, or the least longer side they need (a JPEG may then decode at a reduced scale). Pixels
    not kept are decoded at the least scale: 1/8 for a JPEG, which reads every byte of its stream all the same (a
    truncated or corrupt one is refused as surely) for a third of the work."""
    mime = sniff_image_type(data)
    if mime is None:
        return None
    from PIL import Image, UnidentifiedImageError  # imported on first use: start-up stays light

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if mime == "image/png":  # checksums (PNG's CRCs), which decoding skips; other formats' verify() is a no-op
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()
            # verify() barely reads a JPEG: one cut to a tenth passes it. Only decoding every pixel finds the cut
            # (with Pillow's LOAD_TRUNCATED_IMAGES off, its default, which nothing in this package changes).
            with Image.open(io.BytesIO(data)) as image:
                size = image.size
                if size[0] * size[1] > MAX_PIXELS:
                    return None
                side = keep(size) if keep is not None else None
                draft(image, side or 1)
                image.load()
                # The pixels outlive the block, which only closes the file.
                return VerifiedImage(mime, size, image if side is not None else None)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError):
        return None
    except (SyntaxError, ValueError, EOFError, IndexError, struct.error):
        return None  # Pillow's plugins raise these for malformed headers


def draft(image: PILImage, side: int) -> None:
    """Have a JPEG decode at the smallest of Pillow's DCT scales (1/2, 1/4, 1/8) that keeps its longer side at least
    `side`: libjpeg still reads the whole stream, but skips most of the transform. Other formats are decoded whole."""
    if image.format != "JPEG":
        return
    longer = max(image.size)
    factor = next((f for f in (8, 4, 2) if longer // f >= side), 1)
    if factor > 1:
        image.draft(None, (max(1, image.width // factor), max(1, image.height // factor)))


def decode_base64(text: str) -> bytes:
    """Decode WaveSpeed's naked base64 (and, defensively, a `data:...;base64,` one)."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        # Outputs are megabytes: decode in place, and copy only for the rare string that carries line breaks.
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return base64.b64decode("".join(text.split()), validate=True)
