from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from qwen_image_edit_mcp.media.image_bytes import decode_base64, sniff_image_type, verified_image_type


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
