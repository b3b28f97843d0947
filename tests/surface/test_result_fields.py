"""The fields of a result: the JSON text block carries exactly the structured content, and each output's saved
file is numbered as its URL is (from 1, as the text says "Output 1")."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
from mcp import Client
from mcp.types import TextContent

from fakes import FakeClock
from harness import World, make_world, pictures_dir, png_data_uri

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path, latency=0)


async def test_the_json_text_block_is_the_structured_content(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", {"image": URL_IMAGE, "prompt": "add a hat", "wait_seconds": 0})
    assert result.structured_content is not None
    assert result.structured_content["pending"] is True
    assert result.structured_content["error"] is None  # null fields are there in both
    json_blocks = [b.text for b in result.content if isinstance(b, TextContent) and b.text.startswith("{")]
    assert [json.loads(text) for text in json_blocks] == [result.structured_content]


async def test_saved_files_are_numbered_as_their_urls_are(world: World) -> None:
    world.emulator.update_faults({"num_outputs": 2})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"image": URL_IMAGE, "prompt": "add a hat"})
    report = result.structured_content
    assert report is not None
    assert not result.is_error
    urls: list[str] = report["outputs"]
    paths: list[str] = report["saved_paths"]
    numbers = [re.search(r"-(\d+)\.jpeg$", PurePosixPath(urlsplit(url).path).name) for url in urls]
    saved = [re.search(r"-(\d+)\.jpeg$", Path(path).name) for path in paths]
    assert [m.group(1) for m in numbers if m] == [m.group(1) for m in saved if m] == ["1", "2"]
    text = next(b.text for b in result.content if isinstance(b, TextContent))
    assert f"Output 1: {report['outputs'][0]}" in text


@pytest.mark.parametrize(("image", "position"), [("url", 1), ("file", 2)])
async def test_the_notification_sent_once_wavespeed_accepts_the_job_carries_its_id(
    world: World, tmp_path: Path, image: str, position: int
) -> None:
    """As the README says: the second notification of a call, or the third when the image is uploaded first."""
    messages: list[str] = []

    async def collect(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    if image == "file":
        photo = pictures_dir(tmp_path) / "photo.png"
        photo.write_bytes(base64.b64decode(png_data_uri().split(",", 1)[1]))
        source = str(photo)
    else:
        source = URL_IMAGE
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"image": source, "prompt": "x"}, progress_callback=collect)
    assert result.structured_content is not None
    prediction_id = result.structured_content["prediction_id"]
    assert next(i for i, message in enumerate(messages) if prediction_id in message) == position, messages
