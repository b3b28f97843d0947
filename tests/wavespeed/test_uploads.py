from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app
from qwen_image_edit_mcp.errors import AuthenticationError
from qwen_image_edit_mcp.state.store import open_store
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient
from qwen_image_edit_mcp.wavespeed.uploads import Uploader

pytestmark = pytest.mark.anyio
BYTES = b"\x89PNG\r\n\x1a\n" + b"pretend image" * 10


def emulated(clock: FakeClock) -> tuple[WaveSpeedClient, EmulatorState]:
    state = EmulatorState(EmulatorConfig(api_key=API_KEY, public_base_url="http://emulator.test"), clock=clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state)))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="http://emulator.test"), state


async def test_the_presigned_flow_puts_the_bytes_without_the_key_and_returns_the_download_url(
    clock: FakeClock, tmp_path: Path
) -> None:
    client, state = emulated(clock)
    url, reused = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="cat.png", content_type="image/png"
    )
    assert not reused
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state))) as http:
        assert (await http.get(url)).content == BYTES
    log = state.request_log()
    assert [entry["method"] for entry in log[:2]] == ["POST", "PUT"]
    assert log[0]["path"] == "/api/v3/media/uploads"
    assert log[0]["json"] == {"filename": "cat.png", "size": len(BYTES), "content_type": "image/png"}
    assert log[1]["has_authorization"] is False


async def test_the_same_bytes_are_uploaded_once_even_after_a_restart(clock: FakeClock, tmp_path: Path) -> None:
    client, state = emulated(clock)
    first, reused_first = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="a.png", content_type="image/png"
    )
    uploads_so_far = len(state.request_log())
    again, reused = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="renamed.png", content_type="image/png"
    )
    assert (again, reused, reused_first) == (first, True, False)
    assert len(state.request_log()) == uploads_so_far


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


async def test_a_missing_presigned_endpoint_falls_back_to_the_multipart_upload(
    clock: FakeClock, tmp_path: Path
) -> None:
    client, state = emulated(clock)
    state.update_faults({"presigned_unavailable": True})
    url, _ = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="a.png", content_type="image/png"
    )
    assert [entry["path"] for entry in state.request_log()] == ["/api/v3/media/uploads", "/api/v3/media/upload/binary"]
    assert url.startswith("http://emulator.test/media/")


async def test_storage_refusing_the_put_falls_back_to_the_multipart_upload(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/v3/media/uploads":
            upload = {"method": "PUT", "url": "https://storage.test/slot", "headers": {"If-None-Match": "*"}}
            data = {"download_url": "https://cdn.test/presigned.png", "upload": upload}
            return httpx.Response(200, json={"code": 200, "data": data})
        if request.url.path == "/slot":
            assert "authorization" not in request.headers
            assert request.headers["if-none-match"] == "*"
            return httpx.Response(403, text="signature expired")
        data = {"download_url": "https://cdn.test/multipart.png"}
        return httpx.Response(200, json={"code": 200, "data": data})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
    url, _ = await Uploader(client, open_store(None, tmp_path).uploads).upload(
        BYTES, filename="a.png", content_type="image/png"
    )
    assert url == "https://cdn.test/multipart.png"
    assert seen == ["POST /api/v3/media/uploads", "PUT /slot", "POST /api/v3/media/upload/binary"]


async def test_a_refused_key_does_not_try_the_other_upload(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(401, json={"code": 401, "message": "bad key"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
    with pytest.raises(AuthenticationError):
        await Uploader(client, open_store(None, tmp_path).uploads).upload(BYTES, filename="a", content_type="image/png")
    assert seen == ["/api/v3/media/uploads"]


async def test_uploads_for_another_api_are_not_reused(clock: FakeClock, tmp_path: Path) -> None:
    client, _ = emulated(clock)
    cache = open_store(None, tmp_path).uploads
    await cache.put(f"https://elsewhere.test|{hashlib.sha256(BYTES).hexdigest()}", "https://elsewhere/x.png")
    _, reused = await Uploader(client, cache).upload(BYTES, filename="a.png", content_type="image/png")
    assert not reused
