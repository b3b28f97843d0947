from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from qwen_image_edit_mcp.images import ImageInputError, decode_base64, resolve_image, sniff_image_type

pytestmark = pytest.mark.anyio
PUBLIC_API = "https://api.wavespeed.ai"


def encoded(fmt: str = "PNG", size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return buffer.getvalue()


async def test_an_http_url_is_passed_through_untouched() -> None:
    url = "https://example.com/photos/cat.png?sig=a%20b&x=1"
    assert await resolve_image(url, api_base_url=PUBLIC_API) == url


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("https://user:secret@example.com/a.png", "credentials"),
        ("http://localhost:8000/a.png", "cannot reach localhost"),
        ("http://192.168.1.20/a.png", "private"),
        ("http://[::1]/a.png", "cannot reach"),
        ("https:///a.png", "no host"),
        ("https://example.com/my photo.png", "spaces"),
        ("https://example.com:99999/a.png", "not a valid URL"),
        ("/Users/me/cat.png", "local files are not supported yet"),
        ("~/cat.png", "local files are not supported yet"),
        ("file:///tmp/cat.png", "local files are not supported yet"),
        ("C:\\Users\\me\\cat.png", "local files are not supported yet"),
        ("ftp://example.com/a.png", "http(s) URL or a data:"),
        ("just some words", "http(s) URL or a data:"),
    ],
)
async def test_unusable_images_are_refused_with_the_reason(value: str, says: str) -> None:
    with pytest.raises(ImageInputError, match=says.replace("(", r"\(").replace(")", r"\)")):
        await resolve_image(value, api_base_url=PUBLIC_API)


async def test_local_addresses_are_fine_when_the_api_itself_is_local() -> None:
    url = "http://127.0.0.1:9000/media/a.png"
    assert await resolve_image(url, api_base_url="http://127.0.0.1:9000") == url


async def test_a_data_uri_is_checked_by_decoding_and_relabelled_with_its_real_type() -> None:
    png = encoded("PNG")
    uri = "data:image/jpeg;base64," + base64.b64encode(png).decode()
    resolved = await resolve_image(uri, api_base_url=PUBLIC_API)
    assert resolved.startswith("data:image/png;base64,")
    assert decode_base64(resolved) == png


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("data:image/png;base64," + base64.b64encode(b"this is a text file, not a picture").decode(), "readable image"),
        ("data:image/png;base64,%%%not-base64%%%", "not valid base64"),
        ("data:image/png," + "plain", "base64-encoded"),
        ("data:image/png;base64," + base64.b64encode(encoded("PNG")[:40]).decode(), "readable image"),
    ],
)
async def test_a_data_uri_that_is_not_an_image_is_refused(uri: str, says: str) -> None:
    with pytest.raises(ImageInputError, match=says):
        await resolve_image(uri, api_base_url=PUBLIC_API)


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_image_types_are_known_by_their_bytes(fmt: str, mime: str) -> None:
    assert sniff_image_type(encoded(fmt)) == mime
    assert sniff_image_type(b"<html>") is None


def test_base64_outputs_decode_with_or_without_a_data_prefix() -> None:
    raw = encoded("JPEG")
    text = base64.b64encode(raw).decode()
    assert decode_base64(text) == raw
    assert decode_base64("data:image/jpeg;base64," + text) == raw
