"""The mask and the composite, pixel by pixel: outside the mask the input's pixels exactly, inside the edit's, the soft
edge inside the white region, and every refusal before anything is paid."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image, ImageDraw

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.media.masks import composite, prepare_region
from qwen_image_edit_mcp.models import OutputFormat

SIZE = (120, 80)
BOX = (40, 20, 89, 59)  # the white rectangle of the mask: x 40..89, y 20..59 inclusive


def encoded(image: Image.Image, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def noise(size: tuple[int, int] = SIZE, mode: str = "RGB") -> Image.Image:
    image = Image.effect_noise(size, 60).convert("RGB")
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").crop((0, 0, *size)))
    return image.convert(mode)


def box_mask(size: tuple[int, int] = SIZE, box: tuple[int, int, int, int] = BOX) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def edit_of(size: tuple[int, int] = SIZE) -> Image.Image:
    return Image.new("RGB", size, (1, 250, 3))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_outside_the_mask_the_input_is_kept_bit_for_bit_and_inside_it_is_the_edit(mode: str) -> None:
    source = noise(mode=mode)
    region = prepare_region(encoded(source), encoded(box_mask()), feather=4)
    out = decoded(composite(region, encoded(edit_of()), "png").data)
    assert (out.mode, out.size) == (mode, SIZE)
    edit = edit_of().convert("L" if mode == "L" else "RGB")
    for y in range(SIZE[1]):
        for x in range(SIZE[0]):
            inside = BOX[0] + 4 <= x <= BOX[2] - 4 and BOX[1] + 4 <= y <= BOX[3] - 4
            outside = not (BOX[0] <= x <= BOX[2] and BOX[1] <= y <= BOX[3])
            pixel = out.getpixel((x, y))
            if outside:
                assert pixel == source.getpixel((x, y)), (x, y)
            elif inside:
                expected = edit.getpixel((x, y))
                if mode == "RGBA":  # the model returns no alpha: the input's is kept
                    alpha = source.getpixel((x, y))
                    assert isinstance(expected, tuple) and isinstance(alpha, tuple)  # noqa: PT018
                    expected = (*expected, alpha[3])
                assert pixel == expected, (x, y)


def test_the_soft_edge_lies_inside_the_white_region_and_is_as_wide_as_feather() -> None:
    source = Image.new("L", SIZE, 0)
    region = prepare_region(encoded(source), encoded(box_mask()), feather=4)
    out = decoded(composite(region, encoded(Image.new("L", SIZE, 255)), "png").data)
    row = [out.getpixel((x, 40)) for x in range(BOX[0] - 2, BOX[0] + 6)]
    assert row == [0, 0, 51, 102, 153, 204, 255, 255]  # 4 px ramp starting at the mask's first white pixel
    assert region.weights.getpixel((BOX[0] - 1, 40)) == 0
    hard = prepare_region(encoded(source), encoded(box_mask()), feather=0)
    assert hard.weights.getpixel((BOX[0], 40)) == 255


def test_grey_in_the_mask_is_a_soft_edge_and_the_coverage_is_the_share_that_may_change() -> None:
    mask = Image.new("L", SIZE, 0)
    ImageDraw.Draw(mask).rectangle((0, 0, 59, 79), fill=128)
    region = prepare_region(encoded(noise()), encoded(mask), feather=0)
    assert region.coverage == 0.5
    out = decoded(composite(region, encoded(Image.new("RGB", SIZE, (255, 255, 255))), "png").data)
    pixel = out.getpixel((10, 10))
    assert isinstance(pixel, tuple)
    assert all(value >= 127 for value in pixel)


def test_a_transparent_mask_uses_its_alpha_and_a_smaller_one_of_the_same_shape_is_scaled() -> None:
    painted = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    ImageDraw.Draw(painted).rectangle((20, 10, 44, 29), fill=(200, 30, 30, 255))  # any colour, opaque
    region = prepare_region(encoded(noise()), encoded(painted), feather=0)
    assert region.size == SIZE
    assert region.weights.getpixel((41, 21)) == 255  # painted, opaque: may change
    assert region.weights.getpixel((39, 21)) == 0  # transparent: kept
    assert region.coverage == pytest.approx(50 * 40 / (120 * 80), abs=1e-4)


def test_a_result_of_another_size_is_resampled_to_the_input_before_compositing() -> None:
    source = noise()
    region = prepare_region(encoded(source), encoded(box_mask()), feather=2)
    out = decoded(composite(region, encoded(edit_of((128, 80))), "png").data)
    assert out.size == SIZE
    assert out.getpixel((0, 0)) == source.getpixel((0, 0))
    assert out.getpixel((60, 40)) == (1, 250, 3)


def test_webp_is_lossless_and_jpeg_is_said_to_be_lossy() -> None:
    source = noise()
    region = prepare_region(encoded(source), encoded(box_mask()), feather=4)
    webp = composite(region, encoded(edit_of()), "webp")
    assert (webp.mime, webp.lossless) == ("image/webp", True)
    assert decoded(webp.data).convert("RGB").getpixel((5, 5)) == source.getpixel((5, 5))
    jpeg = composite(region, encoded(edit_of()), "jpeg")
    assert (jpeg.mime, jpeg.lossless) == ("image/jpeg", False)


@pytest.mark.parametrize(
    ("source", "mask", "feather", "said"),
    [
        (encoded(noise()), b"not an image at all", 4, "mask is not a readable image"),
        (encoded(noise()), encoded(box_mask((100, 100), (10, 10, 50, 50))), 4, "the mask is 100x100, the image 120x80"),
        (encoded(noise()), encoded(Image.new("L", SIZE, 0)), 4, "all black"),
        (encoded(noise()), encoded(Image.new("LA", SIZE, (255, 0))), 4, "all black (or fully transparent)"),
        (encoded(noise()), encoded(box_mask(box=(10, 10, 12, 60))), 8, "thinner than the soft edge"),
        (encoded(noise().convert("CMYK"), "JPEG"), encoded(box_mask()), 4, "CMYK mode"),
        (encoded(Image.new("L", (5000, 4000))), encoded(box_mask((5000, 4000))), 4, "at most 16 megapixels"),
    ],
)
def test_what_cannot_be_composited_is_refused_with_the_reason(
    source: bytes, mask: bytes, feather: int, said: str
) -> None:
    with pytest.raises(InputError, match="mask: ") as refused:
        prepare_region(source, mask, feather)
    assert said in str(refused.value)


@pytest.mark.parametrize(
    ("given", "kept"), [("RGB", "RGB"), ("RGBA", "RGBA"), ("L", "L"), ("1", "L"), ("P", "RGB"), ("P+alpha", "RGBA")]
)
def test_the_input_is_decoded_once_before_the_submit_in_the_mode_the_composite_keeps(given: str, kept: str) -> None:
    source = noise().convert(given.removesuffix("+alpha"))
    buffer = io.BytesIO()
    source.save(buffer, "PNG", **({"transparency": 0} if given == "P+alpha" else {}))
    region = prepare_region(buffer.getvalue(), encoded(box_mask()), feather=4)
    source = Image.open(io.BytesIO(buffer.getvalue()))  # as decoded, with its transparency
    assert (region.base.mode, region.base.size) == (kept, SIZE)
    assert region.base.tobytes() == source.convert(kept).tobytes()
    assert region.held_bytes == len(region.source) + SIZE[0] * SIZE[1] * (len(kept) + 1)
    made = composite(replace(region, source=b""), encoded(edit_of()), "png")  # the encoded input is not read again
    out = decoded(made.data)
    assert (out.mode, out.getpixel((0, 0))) == (kept, source.convert(kept).getpixel((0, 0)))


def test_an_input_whose_pixels_do_not_decode_is_refused_before_the_submit() -> None:
    whole = encoded(noise())
    with pytest.raises(OSError, match="truncated"):  # the tool says so as a refusal: nothing is paid
        prepare_region(whole[: len(whole) // 2], encoded(box_mask()), feather=4)


@pytest.mark.parametrize("output_format", ["png", "webp", "jpeg"])
def test_the_composite_keeps_its_blended_pixels_for_the_preview(output_format: OutputFormat) -> None:
    region = prepare_region(encoded(noise(mode="RGBA")), encoded(box_mask()), feather=4)
    made = composite(region, encoded(edit_of()), output_format)
    assert (made.picture.mode, made.picture.size) == ("RGBA", SIZE)
    if made.lossless:  # exactly the pixels encoded; for JPEG, the pixels before its loss
        assert decoded(made.data).convert("RGBA").tobytes() == made.picture.tobytes()
