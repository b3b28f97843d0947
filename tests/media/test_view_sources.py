"""What the viewer's preview reader fetches and what it refuses, with a recording transport in place of the network."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.media.previews import make_preview
from qwen_image_edit_mcp.media.view_sources import PreviewRefused, ViewPreview, load_view_preview
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


async def preview(
    url: str, *, base_url: str = "https://api.test", known: bool = True
) -> tuple[ViewPreview | PreviewRefused, list[str]]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=jpeg((900, 600)), headers={"content-type": "image/jpeg"})

    settings = Settings(api_key=SecretStr(API_KEY), base_url=base_url, cache_dir=Path("/nonexistent"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = WaveSpeedClient(http, api_key=settings.api_key, base_url=base_url)
        try:
            return await load_view_preview(client, settings, url, 300, handed_out=known), seen
        except PreviewRefused as exc:
            return exc, seen


async def test_a_known_public_url_is_fetched_once_and_scaled_to_max_side() -> None:
    result, seen = await preview("https://cdn.example.com/out/0.jpeg")
    assert seen == ["https://cdn.example.com/out/0.jpeg"]
    assert not isinstance(result, PreviewRefused)
    assert max(result.size) == 300
    assert result.original == (900, 600)


@pytest.mark.parametrize(
    ("url", "known", "reason"),
    [
        ("https://cdn.example.com/x.jpeg", False, "only image URLs that this server returned"),
        ("http://127.0.0.1:8080/x.jpeg", True, "private network"),
        ("http://10.1.2.3/x.jpeg", True, "private network"),
        ("http://nas/x.jpeg", True, "private network"),
        ("data:image/png;base64,iVBORw0KGgo=", True, "inline image data"),
    ],
)
async def test_unknown_private_or_inline_sources_are_refused_without_a_request(
    url: str, known: bool, reason: str
) -> None:
    result, seen = await preview(url, known=known)
    assert isinstance(result, PreviewRefused)
    assert reason in str(result)
    assert seen == []


async def test_a_private_url_is_fetched_when_wavespeed_itself_is_local() -> None:
    result, seen = await preview("http://127.0.0.1:8080/x.jpeg", base_url="http://127.0.0.1:8080")
    assert not isinstance(result, PreviewRefused)
    assert seen == ["http://127.0.0.1:8080/x.jpeg"]


def test_max_side_caps_an_image_that_already_fits_the_budget() -> None:
    small = jpeg((800, 400))
    capped = make_preview(small, "image/jpeg", 10_000_000, max_side=200)
    assert capped is not None
    assert capped.size == (200, 100)
    assert capped.original_size == (800, 400)
    uncapped = make_preview(small, "image/jpeg", 10_000_000)
    assert uncapped is not None
    assert uncapped.data == small, "without max_side the original is kept, as before"


async def test_the_picture_is_checked_and_scaled_from_one_decode_at_the_least_scale_its_side_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import JpegImagePlugin

    decoded: list[tuple[int, int]] = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(self: JpegImagePlugin.JpegImageFile) -> object:
        if self.tile:  # pixels still to decode
            decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    result, _ = await preview("https://cdn.example.com/out/0.jpeg")  # 900x600 shown at most 300 wide
    assert not isinstance(result, PreviewRefused)
    assert result.size == (300, 200)
    assert decoded == [(450, 300)]  # half scale still covers 300: one decode checks the bytes and feeds the preview
