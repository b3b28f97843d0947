"""The upload cache over any upstream: the same bytes uploaded once, across restarts and concurrent calls, and only
reused with the API that stored them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app
from qwen_image_edit_mcp.media.uploads import Uploader
from qwen_image_edit_mcp.state.store import StoreUnavailable, open_store
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio
BYTES = b"\x89PNG\r\n\x1a\n" + b"pretend image" * 10


def emulated(clock: FakeClock) -> tuple[WaveSpeedClient, EmulatorState]:
    state = EmulatorState(EmulatorConfig(api_key=API_KEY, public_base_url="http://emulator.test"), clock=clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state)))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="http://emulator.test"), state


async def test_a_first_upload_is_not_reused_and_is_fetchable(clock: FakeClock, tmp_path: Path) -> None:
    client, state = emulated(clock)
    url, reused = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="cat.png", content_type="image/png"
    )
    assert not reused
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state))) as http:
        assert (await http.get(url)).content == BYTES


async def test_the_same_bytes_are_uploaded_once_even_after_a_restart(
    clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, state = emulated(clock)
    first, reused_first = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="a.png", content_type="image/png"
    )
    uploads_so_far = len(state.request_log())
    with caplog.at_level("INFO"):
        again, reused = await Uploader(client, open_store(None, tmp_path).uploads).upload(
            BYTES, filename="renamed.png", content_type="image/png"
        )
    assert (again, reused, reused_first) == (first, True, False)
    assert len(state.request_log()) == uploads_so_far
    assert f"reusing the upload of renamed.png ({len(BYTES)} bytes)" in caplog.text


async def test_concurrent_uploads_of_the_same_bytes_make_one_upload(clock: FakeClock, tmp_path: Path) -> None:
    client, state = emulated(clock)
    uploader = Uploader(client, open_store(None, tmp_path).uploads)
    urls: list[str] = []

    async def one() -> None:
        urls.append((await uploader.upload(BYTES, filename="a.png", content_type="image/png"))[0])

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert len(set(urls)) == 1
    assert sum(1 for entry in state.request_log() if entry["method"] == "PUT") == 1


async def test_uploads_are_remembered_under_the_api_s_address_and_the_content_hash(
    clock: FakeClock, tmp_path: Path
) -> None:
    client, _ = emulated(clock)
    cache = open_store(None, tmp_path).uploads
    url, _ = await Uploader(client, cache).upload(BYTES, filename="a.png", content_type="image/png")
    assert await cache.get(f"http://emulator.test|{hashlib.sha256(BYTES).hexdigest()}") == url


async def test_uploads_for_another_api_are_not_reused(clock: FakeClock, tmp_path: Path) -> None:
    client, _ = emulated(clock)
    cache = open_store(None, tmp_path).uploads
    await cache.put(f"https://elsewhere.test|{hashlib.sha256(BYTES).hexdigest()}", "https://elsewhere/x.png")
    _, reused = await Uploader(client, cache).upload(BYTES, filename="a.png", content_type="image/png")
    assert not reused


class BrokenCache:
    """An upload cache whose store cannot answer."""

    async def get(self, key: str) -> str | None:
        raise StoreUnavailable("the store is down")

    async def put(self, key: str, url: str) -> None:
        raise StoreUnavailable("the store is down")


async def test_a_store_that_cannot_answer_costs_an_upload_not_the_edit(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client, state = emulated(clock)
    with caplog.at_level("WARNING"):
        url, reused = await Uploader(client, BrokenCache()).upload(BYTES, filename="a.png", content_type="image/png")
    assert url.startswith("http://emulator.test/")
    assert not reused
    assert sum(1 for entry in state.request_log() if entry["method"] == "PUT") == 1
    assert "could not look up earlier uploads: the store is down" in caplog.text
    assert "could not record the upload: the store is down" in caplog.text
