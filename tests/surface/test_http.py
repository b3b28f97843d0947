"""The server over HTTP for real (uvicorn on loopback), against the emulator on loopback: who it lets in (the token,
the Host and Origin checks, the body limit), how it answers a malformed request, and where it agrees to listen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from fakes import MODEL_TOOLS, beyond_the_catalog
from harness import text_of
from http_harness import AUTH, INITIALIZE, MCP_HEADERS, SECURED, TOKEN, http_client, http_server, settings_for
from qwen_image_edit_mcp.config import HttpSettings, Settings, SettingsError
from qwen_image_edit_mcp.emulator import RunningEmulator
from qwen_image_edit_mcp.surface.http import build_http_app
from qwen_image_edit_mcp.surface.server import create_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
URL_IMAGE = "https://example.com/street.jpg"


async def test_health_answers_without_a_token(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("headers", "error"), [({}, "invalid_request"), ({"Authorization": "Bearer wrong"}, "invalid_token")]
)
async def test_requests_without_the_right_token_get_401(
    emulator: RunningEmulator, tmp_path: Path, headers: dict[str, str], error: str
) -> None:
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json()["error"] == error
    assert beyond_the_catalog(emulator.state.request_log()) == []


async def test_the_right_token_lets_a_client_list_and_call(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, http_client(url) as client:
        tools = await client.list_tools()
        result = await client.call_tool("get_prediction", {"prediction_id": "0" * 32})
    assert {tool.name for tool in tools.tools} == MODEL_TOOLS
    assert result.is_error
    assert "no such prediction" in text_of(result)


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
async def test_foreign_host_or_origin_is_refused(
    emulator: RunningEmulator, tmp_path: Path, headers: dict[str, str], status: int
) -> None:
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **AUTH, **headers})
    assert response.status_code == status


async def test_a_deployments_own_host_and_origin_can_be_allowed(emulator: RunningEmulator, tmp_path: Path) -> None:
    options = HttpSettings(
        auth_token=SecretStr(TOKEN), allowed_hosts=("mcp.example.com",), allowed_origins=("https://app.example.com",)
    )
    headers = {**MCP_HEADERS, **AUTH, "Host": "mcp.example.com", "Origin": "https://app.example.com"}
    async with http_server(settings_for(emulator, tmp_path), options) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 200


async def test_an_oversized_body_is_refused_with_413(emulator: RunningEmulator, tmp_path: Path) -> None:
    huge = {**INITIALIZE, "padding": "x" * (5 * 1024 * 1024)}
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=huge, headers={**MCP_HEADERS, **AUTH})
        healthy = await http.get(f"{url}/healthz")
    assert response.status_code == 413
    assert healthy.status_code == 200


@pytest.mark.parametrize(
    ("body", "code"), [(b"{not json", -32700), (b'{"jsonrpc": "2.0", "id": 1}', -32602), (b"[]", -32602)]
)
async def test_malformed_requests_get_protocol_errors_and_the_server_serves_on(
    emulator: RunningEmulator, tmp_path: Path, body: bytes, code: int
) -> None:
    async with http_server(settings_for(emulator, tmp_path), SECURED) as url:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{url}/mcp", content=body, headers={**MCP_HEADERS, **AUTH})
        async with http_client(url) as client:
            tools = await client.list_tools()
    assert response.status_code == 400
    assert response.json()["jsonrpc"] == "2.0"
    assert response.json()["error"]["code"] == code
    assert {tool.name for tool in tools.tools} == MODEL_TOOLS


async def test_sse_requires_the_token_too(emulator: RunningEmulator, tmp_path: Path) -> None:
    options = HttpSettings(transport="sse", auth_token=SecretStr(TOKEN))
    async with http_server(settings_for(emulator, tmp_path), options) as url, httpx.AsyncClient() as http:
        stream = await http.get(f"{url}/sse")
        post = await http.post(f"{url}/messages/?session_id=x", json=INITIALIZE)
    assert (stream.status_code, post.status_code) == (401, 401)


def test_listening_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    server = create_server(Settings())
    with pytest.raises(SettingsError, match="without a token"):
        build_http_app(server, HttpSettings(host="0.0.0.0"))  # noqa: S104 - the point of the test
    assert build_http_app(create_server(Settings()), HttpSettings(host="0.0.0.0", auth_token=SecretStr(TOKEN)))  # noqa: S104


def test_the_command_line_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", "--transport", "streamable-http", "--host", "0.0.0.0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache")},
        cwd="/",
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr
    assert "QWEN_EDIT_AUTH_TOKEN" in done.stderr
