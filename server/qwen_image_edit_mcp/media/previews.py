"""Inline previews that fit: the original when its base64 fits the budget, else a downscaled JPEG that does.

Blocking Pillow work: call `make_preview` (or `preview_of`, for an image already decoded) from a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .image_bytes import draft

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# Largest first: the first size (and quality) whose encoding fits is the preview.
_SIDES = (1536, 1280, 1024, 896, 768, 640, 512, 384, 256)
_QUALITIES = (85, 70)


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime: str
    size: tuple[int, int]
    original_size: tuple[int, int] | None  # set when the preview was scaled down from this

    @property
    def downscaled(self) -> bool:
        return self.original_size is not None


def base64_size(n: int) -> int:
    return 4 * ((n + 2) // 3)


def make_preview(data: bytes, mime: str, budget: int, *, max_side: int | None = None) -> Preview | None:
    """A preview whose base64 is at most `budget` bytes (and whose longer side is at most `max_side`, when given),
    or None when even the smallest would not fit."""
    from PIL import Image  # imported on first use: start-up stays light

    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        if fits(len(data), size, budget, max_side):
            return Preview(data, mime, size, None)
        if budget <= 0:
            return None
        draft(image, _sides(size, max_side)[0])  # a JPEG decodes no larger than its largest preview needs
        return _scaled(image, size, budget, max_side)


def preview_of(
    picture: PILImage,
    data: bytes,
    mime: str,
    budget: int,
    *,
    size: tuple[int, int] | None = None,
    max_side: int | None = None,
) -> Preview | None:
    """As `make_preview`, for `data` already decoded as `picture` (the same pixels, e.g. a composite just encoded, or
    a JPEG decoded at a reduced scale: then `size` is its own): the original when it fits, else downscaled from
    `picture`, without decoding `data` again."""
    size = size or picture.size
    if fits(len(data), size, budget, max_side):
        return Preview(data, mime, size, None)
    if budget <= 0:
        return None
    return _scaled(picture, size, budget, max_side)


def fits(length: int, size: tuple[int, int], budget: int, max_side: int | None = None) -> bool:
    """Whether an image of `length` bytes and `size` is its own preview: no pixels need decoding then."""
    return base64_size(length) <= budget and (max_side is None or max(size) <= max_side)


def pixels_needed(length: int, budget: int, max_side: int | None = None) -> Callable[[tuple[int, int]], int | None]:
    """For `verified_image(keep=...)`: given an image's size, None when the image of `length` bytes is its own
    preview (or none can be made), else the longer side of the largest preview it could get."""

    def side(size: tuple[int, int]) -> int | None:
        if fits(length, size, budget, max_side) or budget <= 0:
            return None
        return _sides(size, max_side)[0]

    return side


def _sides(size: tuple[int, int], max_side: int | None) -> tuple[int, ...]:
    """The longer sides to try, largest first: those under the image's own, then the smallest whatever it is."""
    capped = max_side is not None and max(size) > max_side
    sides = _SIDES if max_side is None or not capped else (max_side, *(s for s in _SIDES if s < max_side))
    return tuple(s for s in sides if s < max(size) or s == sides[-1])


def _scaled(image: PILImage, size: tuple[int, int], budget: int, max_side: int | None) -> Preview | None:
    """The largest downscaled JPEG that fits; `image` holds the pixels of an image of `size` (perhaps fewer)."""
    from PIL import Image

    image.load()
    rgb = _flatten(image)
    for side in _sides(size, max_side):
        # Resize straight to the target: thumbnail() on a copy would first duplicate the full-size image.
        factor = min(side / size[0], side / size[1], 1.0)
        target = (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))
        # Pillow's stub types `size` as possibly a numpy array, which strict pyright reports as partially unknown.
        scaled = rgb.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)  # pyright: ignore[reportUnknownMemberType]
        for quality in _QUALITIES:
            buffer = io.BytesIO()
            scaled.save(buffer, "JPEG", quality=quality, optimize=True)
            if base64_size(buffer.tell()) <= budget:
                return Preview(buffer.getvalue(), "image/jpeg", scaled.size, size)
    return None


def _flatten(image: PILImage) -> PILImage:
    """RGB for JPEG: transparency is laid on white, as most viewers show it."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")
