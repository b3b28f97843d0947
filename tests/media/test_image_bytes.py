from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from qwen_image_edit_mcp.media.image_bytes import decode_base64, sniff_image_type, verified_image, verified_image_type


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif"), ("BMP", "image/bmp")],
)
def test_image_types_are_known_by_their_bytes_and_confirmed_by_decoding(fmt: str, mime: str) -> None:
    assert sniff_image_type(encoded(fmt)) == mime
    assert verified_image_type(encoded(fmt)) == mime


def test_a_right_signature_on_broken_bytes_is_not_an_image() -> None:
    assert sniff_image_type(encoded("PNG")[:40]) == "image/png"
    assert verified_image_type(encoded("PNG")[:40]) is None
    assert verified_image_type(b"<html>") is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("kept", [0.9, 0.5, 0.1])
def test_a_truncated_image_is_not_an_image_however_much_of_it_is_left(fmt: str, kept: float) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((256, 192), 60).convert("RGB").save(buffer, fmt)  # noise: no format compresses it to nothing
    whole = buffer.getvalue()
    assert verified_image_type(whole) is not None
    assert verified_image_type(whole[: int(len(whole) * kept)]) is None


def test_base64_outputs_decode_with_or_without_a_data_prefix() -> None:
    raw = encoded("JPEG")
    text = base64.b64encode(raw).decode()
    assert decode_base64(text) == raw
    assert decode_base64("data:image/jpeg;base64," + text) == raw
    assert decode_base64(text[:20] + "\n" + text[20:]) == raw


def photo_like_jpeg(size: tuple[int, int], *, progressive: bool = False) -> bytes:
    """Noise over a gradient: every block of the stream carries data, as in a photo."""
    picture = Image.linear_gradient("L").resize(size).convert("RGB")  # pyright: ignore[reportUnknownMemberType]
    noise = Image.effect_noise(size, 40).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(picture, noise, 0.5).save(buffer, "JPEG", quality=90, progressive=progressive)
    return buffer.getvalue()


def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes JPEGs are decoded at from now on (after any draft), one per decode."""
    from PIL import JpegImagePlugin

    sizes: list[tuple[int, int]] = []
    real = JpegImagePlugin.JpegImageFile.load

    def load(self: JpegImagePlugin.JpegImageFile) -> object:
        sizes.append(self.size)
        return real(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    return sizes


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_jpeg_is_checked_at_an_eighth_of_its_scale_yet_a_cut_anywhere_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, progressive: bool
) -> None:
    whole = photo_like_jpeg((512, 384), progressive=progressive)
    sizes = decoded_sizes(monkeypatch)
    assert verified_image_type(whole) == "image/jpeg"
    assert sizes == [(64, 48)]  # decoded at 1/8: the stream is read to its end all the same
    for kept in range(1, 40):
        cut = whole[: len(whole) * kept // 40]
        assert verified_image_type(cut) is None, f"a JPEG cut to {kept}/40 passed"
    assert verified_image_type(whole[:-2]) is None  # only its end-of-image marker missing


def test_a_jpeg_with_bytes_garbled_midway_is_refused_as_a_full_decode_refuses_it() -> None:
    whole = photo_like_jpeg((256, 192))
    garbled = whole[: len(whole) // 2] + bytes(range(256)) * 4 + whole[len(whole) // 2 + 1024 :]
    with pytest.raises(OSError, match="broken data stream"), Image.open(io.BytesIO(garbled)) as image:
        image.load()
    assert verified_image_type(garbled) is None


def test_decoded_pixels_are_kept_only_when_asked_and_at_the_least_scale_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    data = photo_like_jpeg((800, 600))
    sizes = decoded_sizes(monkeypatch)
    unkept = verified_image(data)
    assert unkept is not None
    assert (unkept.size, unkept.picture) == ((800, 600), None)
    quarter = verified_image(data, keep=lambda size: max(size) // 4)
    assert quarter is not None
    assert quarter.size == (800, 600)
    assert quarter.picture is not None
    assert quarter.picture.size == (200, 150)
    whole = verified_image(data, keep=lambda size: max(size))
    assert whole is not None
    assert whole.picture is not None
    assert whole.picture.size == (800, 600)
    assert verified_image(data, keep=lambda size: None) == unkept  # asked for nothing: nothing kept
    assert sizes == [(100, 75), (200, 150), (800, 600), (100, 75)]
    assert quarter.picture.getpixel((100, 75)) is not None  # the pixels outlive the file, closed by now
    png = verified_image(encoded("PNG"), keep=lambda size: 1)  # no reduced scales: decoded whole
    assert png is not None
    assert png.picture is not None
    assert png.picture.size == (32, 24)
