from __future__ import annotations

import io

import pytest
from PIL import Image

from qwen_image_edit_mcp.media.previews import base64_size, make_preview, preview_of


def encoded(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB", noisy: bool = False) -> bytes:
    image = Image.effect_noise(size, 100).convert(mode) if noisy else Image.new(mode, size, "orange")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_an_image_that_fits_is_shown_as_it_is() -> None:
    data = encoded((300, 200))
    preview = make_preview(data, "image/png", base64_size(len(data)))
    assert preview is not None
    assert preview.data == data
    assert preview.mime == "image/png"
    assert not preview.downscaled


def test_an_image_too_big_is_scaled_down_to_fit_keeping_its_shape() -> None:
    data = encoded((1536, 1024), noisy=True)
    budget = 300_000
    preview = make_preview(data, "image/png", budget)
    assert preview is not None
    assert preview.downscaled
    assert preview.original_size == (1536, 1024)
    assert base64_size(len(preview.data)) <= budget
    shown = Image.open(io.BytesIO(preview.data))
    assert shown.format == "JPEG"
    assert shown.size == preview.size
    assert abs(shown.size[0] / shown.size[1] - 1.5) < 0.02


def test_transparency_is_laid_on_white_for_the_jpeg_preview() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (800, 800), (255, 0, 0, 0)).save(buffer, "PNG")
    preview = make_preview(buffer.getvalue(), "image/png", 2_000)
    assert preview is not None
    corner = Image.open(io.BytesIO(preview.data)).convert("RGB").getpixel((0, 0))
    assert isinstance(corner, tuple)
    assert all(channel > 240 for channel in corner)


@pytest.mark.parametrize("budget", [0, 100])
def test_when_nothing_fits_there_is_no_preview(budget: int) -> None:
    assert make_preview(encoded((600, 600), noisy=True), "image/png", budget) is None


def test_a_picture_already_decoded_is_previewed_from_its_pixels_without_decoding_its_bytes() -> None:
    picture = Image.effect_noise((1536, 1024), 100).convert("RGBA")
    not_an_image = b"\0" * 400_000  # what the picture was encoded to, as far as the preview cares: only its size
    budget = 200_000
    preview = preview_of(picture, not_an_image, "image/png", budget)
    assert preview is not None
    assert (preview.mime, preview.original_size) == ("image/jpeg", (1536, 1024))
    assert base64_size(len(preview.data)) <= budget
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    assert preview == make_preview(buffer.getvalue(), "image/png", budget)  # the same as from the encoded bytes


def test_a_decoded_picture_whose_bytes_fit_is_shown_as_those_bytes() -> None:
    data = encoded((300, 200))
    with Image.open(io.BytesIO(data)) as picture:
        preview = preview_of(picture, data, "image/png", base64_size(len(data)))
    assert preview is not None
    assert (preview.data, preview.downscaled) == (data, False)
