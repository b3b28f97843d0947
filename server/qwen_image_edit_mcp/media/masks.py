"""Editing one region: the mask read and checked against the input, its edge feathered, and the composite made.

A mask is white (or opaque) where the edit may change pixels and black (or transparent) where it may not; grey is a
soft edge. When the mask has any transparency its alpha channel is the mask, else its grey level. The feathered
edge lies *inside* the white region, so every pixel that is black in the mask keeps the input's value, bit for bit:
the composite takes the input's pixels wherever the feathered weight is 0 and the edit's wherever it is 255.

The input is decoded once, before the submit, and kept in the `Region` until the composite is made; the composite
keeps its blended picture, so the preview is made from it and nothing is decoded again after the job.

Blocking Pillow work, with the sizes bounded from the headers before a pixel is decoded: call from a worker thread.
Memory stays near 10 bytes a pixel of the input (two images, two weights), about 24 MiB at 1536x1536.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..errors import InputError
from ..models import OutputFormat

DEFAULT_FEATHER: Final = 4
MAX_FEATHER: Final = 64
# 4096x4096: a 12-megapixel photo fits; the composite's memory grows with it (about 160 MiB at this bound).
MAX_MASKED_PIXELS: Final = 4096 * 4096
if TYPE_CHECKING:
    from PIL import Image

_KEPT_MODES: Final = frozenset({"RGB", "RGBA", "L", "LA"})


@dataclass(frozen=True)
class Region:
    """What compositing needs once the edit is back: the input, already decoded in the mode the composite keeps, and
    the feathered weights at its size, so that nothing of the input is decoded again after the job.

    Memory: the decoded input is held from before the submit until the composite is made (and for as long as the
    region is kept, e.g. while a prepared edit waits for its confirmation): width * height * channels bytes, about
    9 MiB at 1536x1536 RGBA and 64 MiB at the 4096x4096 bound; the weights add width * height bytes. `held_bytes`
    counts all of it."""

    source: bytes  # the input image, encoded as the caller gave it
    base: Image.Image  # the input decoded, in the mode the composite keeps (RGB, RGBA, L or LA); never modified
    weights: Image.Image  # mode L at the input's size: 0 keeps the input's pixel, 255 takes the edit's
    coverage: float  # the share of the input's pixels the edit may change (weight above 0)

    @property
    def size(self) -> tuple[int, int]:
        return self.weights.size

    @property
    def held_bytes(self) -> int:
        """What the region keeps in memory: the encoded input, the decoded input and the weights."""
        width, height = self.size
        return len(self.source) + width * height * (len(self.base.getbands()) + 1)


@dataclass(frozen=True)
class Composite:
    data: bytes
    mime: str
    lossless: bool  # False when the caller chose JPEG: then only the pixels before encoding were kept exactly
    picture: Image.Image  # the blended pixels `data` encodes (before any JPEG loss): the preview is made from them


def prepare_region(source: bytes, mask: bytes, feather: int) -> Region:
    """The region to edit, or InputError naming what is wrong with the mask or the input (nothing is paid yet)."""
    with _opened(source, "image") as image:
        size = image.size
        mode = _working_mode(image)
        if mode is None:
            raise InputError(
                f"mask: the image is in {image.mode} mode, which cannot be composited exactly; convert it to RGB "
                "(or RGBA) first, or edit without a mask."
            )
    with _opened(mask, "mask") as picture:
        weights = _weights(picture)
    if weights.size != size:
        weights = _scaled(weights, size)
    if weights.histogram()[0] == size[0] * size[1]:
        raise InputError(
            "mask: it is all black (or fully transparent), so the edit could change nothing and nothing was "
            "submitted. Paint white where the image may change."
        )
    weights = feathered(weights, feather)
    kept = weights.histogram()[0]
    if kept == size[0] * size[1]:
        raise InputError(
            f"mask: its white region is thinner than the soft edge (feather={feather}), so nothing could change and "
            "nothing was submitted. Lower feather (0 for a hard edge) or widen the white region."
        )
    # Decoded now, after the mask's cheaper checks: the composite needs these pixels once the job is back.
    image = _opened(source, "image")  # in memory: nothing to close (closing would free the pixels kept)
    image.load()
    base = image if image.mode == mode else image.convert(mode)
    return Region(source, base, weights, round(1 - kept / (size[0] * size[1]), 4))


def feathered(weights: Image.Image, feather: int) -> Image.Image:
    """The weights with a soft edge about `feather` pixels wide, entirely inside the non-zero region: the region is
    eroded by half the width, then box-blurred back out by the same, and the caller's own grey levels are kept."""
    from PIL import Image, ImageChops, ImageFilter  # imported on first use: start-up stays light

    if feather <= 0:
        return weights
    radius = math.ceil(feather / 2)
    core = Image.eval(weights, _any).filter(ImageFilter.BoxBlur(radius))
    core = Image.eval(core, _full).filter(ImageFilter.BoxBlur(radius))
    return ImageChops.multiply(core, weights)


def composite(region: Region, edited: bytes, output_format: OutputFormat) -> Composite:
    """The edit inside the region, the input everywhere else, at the input's size and in its mode, encoded (and
    kept as pixels too, for the preview)."""
    return encoded(blended(region, *decoded(region, edited)), output_format)


def decoded(region: Region, edited: bytes) -> tuple[Image.Image, Image.Image]:
    """The input in the mode the composite keeps (decoded before the submit), and the edit in its colour mode (the
    model returns no alpha)."""
    base = region.base
    with _opened(edited, "edit") as result:
        picture = result.convert("L" if base.mode in ("L", "LA") else "RGB")
    return base, picture


def blended(region: Region, base: Image.Image, picture: Image.Image) -> Image.Image:
    """The edit resampled to the input's size, given the input's alpha, then the input pasted back wherever the
    weight is below 255: exactly the input where it is 0. Reuses `picture`'s memory."""
    from PIL import Image, ImageChops  # imported on first use: start-up stays light

    if picture.size != base.size:  # WaveSpeed may round the size: back to the input's before compositing
        picture = _resized(picture, base.size, Image.Resampling.LANCZOS)
    if base.mode != picture.mode:  # the model returns no alpha: the input's transparency is kept everywhere
        picture.putalpha(base.getchannel("A"))
    picture.paste(base, (0, 0), ImageChops.invert(region.weights))
    return picture


def encoded(picture: Image.Image, output_format: OutputFormat) -> Composite:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        picture.convert("RGB" if picture.mode in ("RGBA", "RGB") else "L").save(buffer, "JPEG", quality=95)
        return Composite(buffer.getvalue(), "image/jpeg", lossless=False, picture=picture)
    if output_format == "webp":
        picture.save(buffer, "WEBP", lossless=True, exact=True, quality=50, method=0)
        return Composite(buffer.getvalue(), "image/webp", lossless=True, picture=picture)
    picture.save(buffer, "PNG", compress_level=1)  # fast; photos compress nearly as well as at the default
    return Composite(buffer.getvalue(), "image/png", lossless=True, picture=picture)


def _opened(data: bytes, what: str) -> Image.Image:
    """The image, opened lazily, once its header shows a size within bounds; InputError otherwise."""
    from PIL import Image  # imported on first use: start-up stays light

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"mask: the {what} is not a readable image (PNG, JPEG, WebP...).") from None
    width, height = image.size
    if width * height > MAX_MASKED_PIXELS:
        image.close()
        raise InputError(
            f"mask: the {what} is {width}x{height}; a masked edit takes at most {MAX_MASKED_PIXELS // 2**20} "
            "megapixels. Scale the image down first, or edit without a mask."
        )
    return image


def _working_mode(image: Image.Image) -> str | None:
    """The mode the composite is made (and saved) in: the input's own, when it can be kept exactly."""
    if image.mode in _KEPT_MODES:
        return image.mode
    if image.mode == "1":
        return "L"
    if image.mode in ("P", "PA"):
        return "RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB"
    return None


def _weights(picture: Image.Image) -> Image.Image:
    """Mode L: the alpha channel when the mask has any transparency, else its grey level."""
    picture.load()
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        alpha = picture.convert("RGBA").getchannel("A")
        if alpha.histogram()[255] < alpha.width * alpha.height:
            return alpha
    return picture.convert("L")


def _scaled(weights: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask at the input's size, when their aspect ratios match (to a pixel); InputError otherwise."""
    from PIL import Image  # imported on first use: start-up stays light

    (mw, mh), (w, h) = weights.size, size
    if abs(mw * h - mh * w) > max(mw, w):
        raise InputError(
            f"mask: its aspect ratio does not match the image's: the mask is {mw}x{mh}, the image {w}x{h}. Make the "
            "mask the image's size (or an exact multiple of it); nothing was submitted."
        )
    # Upscaling keeps hard edges hard (each mask pixel covers whole pixels); downscaling averages into grey edges.
    method = Image.Resampling.NEAREST if mw < w else Image.Resampling.BOX
    return _resized(weights, size, method)


def _resized(image: Image.Image, size: tuple[int, int], method: Image.Resampling) -> Image.Image:
    # Pillow's stubs type `size` as possibly a numpy array, which strict pyright reports as partly unknown.
    return image.resize(size, method)  # pyright: ignore[reportUnknownMemberType]


def _any(value: int) -> int:
    """Any weight at all: the region's whole extent."""
    return 255 if value else 0


def _full(value: int) -> int:
    """Only the full weight: what the blur left untouched."""
    return 255 if value == 255 else 0
