"""WaveSpeed's media storage, as the client's `upload` uses it: presigned first, the multipart upload as fallback."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app
from qwen_image_edit_mcp.errors import AuthenticationError
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio
BYTES = b"\x89PNG\r\n\x1a\n" + b"pretend image" * 10


def emulated(clock: FakeClock) -> tuple[WaveSpeedClient, EmulatorState]:
    state = EmulatorState(EmulatorConfig(api_key=API_KEY, public_base_url="http://emulator.test"), clock=clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state)))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="http://emulator.test"), state


async def test_the_presigned_flow_puts_the_bytes_without_the_key_and_returns_the_download_url(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client, state = emulated(clock)
    with caplog.at_level("INFO"):
        url = await client.upload(BYTES, filename="cat.png", content_type="image/png")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(state))) as http:
        assert (await http.get(url)).content == BYTES
    log = state.request_log()
    assert [entry["method"] for entry in log[:2]] == ["POST", "PUT"]
    assert log[0]["path"] == "/api/v3/media/uploads"
    assert log[0]["json"] == {"filename": "cat.png", "size": len(BYTES), "content_type": "image/png"}
    assert log[1]["has_authorization"] is False
    assert f"uploaded cat.png ({len(BYTES)} bytes) to WaveSpeed storage" in caplog.text


async def test_every_upload_call_uploads_remembering_is_the_uploader_s(clock: FakeClock) -> None:
    client, state = emulated(clock)
    await client.upload(BYTES, filename="a.png", content_type="image/png")
    await client.upload(BYTES, filename="a.png", content_type="image/png")
    assert sum(1 for entry in state.request_log() if entry["method"] == "PUT") == 2


async def test_a_missing_presigned_endpoint_falls_back_to_the_multipart_upload(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client, state = emulated(clock)
    state.update_faults({"presigned_unavailable": True})
    with caplog.at_level("INFO"):
        url = await client.upload(BYTES, filename="a.png", content_type="image/png")
    assert [entry["path"] for entry in state.request_log()] == ["/api/v3/media/uploads", "/api/v3/media/upload/binary"]
    assert url.startswith("http://emulator.test/media/")
    assert "direct upload unavailable" in caplog.text
    assert f"uploaded a.png ({len(BYTES)} bytes) with the multipart upload" in caplog.text


async def test_storage_refusing_the_put_falls_back_to_the_multipart_upload() -> None:
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
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        data = {"download_url": "https://cdn.test/multipart.png"}
        return httpx.Response(200, json={"code": 200, "data": data})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
    url = await client.upload(BYTES, filename="a.png", content_type="image/png")
    assert url == "https://cdn.test/multipart.png"
    assert seen == ["POST /api/v3/media/uploads", "PUT /slot", "POST /api/v3/media/upload/binary"]


async def test_a_refused_key_does_not_try_the_other_upload() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(401, json={"code": 401, "message": "bad key"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
    with pytest.raises(AuthenticationError):
        await client.upload(BYTES, filename="a", content_type="image/png")
    assert seen == ["/api/v3/media/uploads"]
