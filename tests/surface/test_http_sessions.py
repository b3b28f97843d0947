"""Streamable-HTTP sessions that clients walk away from: they expire when idle, and at the cap the session idle
longest makes room for a new one, never a session with a call in flight or a client listening on its GET stream.

Sessions are opened with raw `initialize` POSTs, as a client that crashed would leave them: the SDK's own client
keeps a GET stream open for as long as it is connected, so its session is never idle."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from fakes import API_KEY
from http_harness import INITIALIZE, MCP_HEADERS, LogWatch, http_client, http_server, settings_for
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.surface.http import build_http_app
from qwen_image_edit_mcp.surface.server import create_server
from qwen_image_edit_mcp.surface.sessions import IdleFirstSessionManager

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
VERSION = {"mcp-protocol-version": "2025-06-18"}


async def open_session(http: httpx.AsyncClient, url: str) -> str:
    """A handshake, then nothing more: the session is left open and idle, as an abandoned one."""
    response = await http.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 200, response.text
    session: str = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await post(http, url, session, initialized)).status_code == 202
    return session


async def post(http: httpx.AsyncClient, url: str, session: str, message: dict[str, Any]) -> httpx.Response:
    headers = {**MCP_HEADERS, **VERSION, "mcp-session-id": session}
    return await http.post(f"{url}/mcp", json=message, headers=headers)


async def ping(http: httpx.AsyncClient, url: str, session: str) -> int:
    """200 while the session lives; the SDK's 404 ("session not found") once it was ended."""
    return (await post(http, url, session, {"jsonrpc": "2.0", "id": 7, "method": "ping"})).status_code


async def listen(stack: AsyncExitStack, http: httpx.AsyncClient, url: str, session: str) -> None:
    """Hold the session's GET stream open, as a connected client does, until the stack closes."""
    headers = {"Accept": "text/event-stream", **VERSION, "mcp-session-id": session}
    response = await stack.enter_async_context(http.stream("GET", f"{url}/mcp", headers=headers))
    assert response.status_code == 200


def capped(max_sessions: int) -> HttpSettings:
    return HttpSettings(max_sessions=max_sessions, session_idle_seconds=600)


async def test_an_idle_session_expires_after_the_setting(
    emulator: RunningEmulator, tmp_path: Path, log_watch: LogWatch
) -> None:
    options = HttpSettings(session_idle_seconds=0.2)
    async with http_server(settings_for(emulator, tmp_path), options) as url, httpx.AsyncClient() as http:
        session = await open_session(http, url)
        await log_watch.wait_for(f"Session {session} idle timeout")
        assert await ping(http, url, session) == 404
        assert await ping(http, url, await open_session(http, url)) == 200  # the client starts over


async def test_a_listening_client_outlives_the_idle_timeout(
    emulator: RunningEmulator, tmp_path: Path, log_watch: LogWatch
) -> None:
    options = HttpSettings(session_idle_seconds=0.2)
    async with (
        http_server(settings_for(emulator, tmp_path), options) as url,
        httpx.AsyncClient() as http,
        AsyncExitStack() as stack,
    ):
        listening = await open_session(http, url)
        await listen(stack, http, url, listening)
        abandoned = await open_session(http, url)  # opened later, and idle
        await log_watch.wait_for(f"Session {abandoned} idle timeout")
        assert await ping(http, url, listening) == 200
        assert f"Session {listening} idle timeout" not in "\n".join(log_watch.lines)


async def test_at_the_cap_a_new_session_ends_the_one_idle_longest(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with http_server(settings_for(emulator, tmp_path), capped(2)) as url, httpx.AsyncClient() as http:
        first, second = await open_session(http, url), await open_session(http, url)
        assert await ping(http, url, first) == 200  # used last: now the second has been idle longest
        third = await open_session(http, url)
        assert await ping(http, url, second) == 404  # the SDK's "session not found": its client must start over
        assert await ping(http, url, third) == 200
        assert await ping(http, url, first) == 200  # used last again: now the third has been idle longest
        fourth = await open_session(http, url)
        assert [await ping(http, url, s) for s in (third, first, fourth)] == [404, 200, 200]


async def test_a_session_whose_client_listens_is_not_ended_to_make_room(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    async with (
        http_server(settings_for(emulator, tmp_path), capped(2)) as url,
        httpx.AsyncClient() as http,
        AsyncExitStack() as stack,
    ):
        listening = await open_session(http, url)
        await listen(stack, http, url, listening)
        idle = await open_session(http, url)
        newcomer = await open_session(http, url)
        assert [await ping(http, url, s) for s in (listening, idle, newcomer)] == [200, 404, 200]


async def test_when_every_session_is_busy_the_newcomer_is_refused(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with (
        http_server(settings_for(emulator, tmp_path), capped(2)) as url,
        httpx.AsyncClient() as http,
        AsyncExitStack() as stack,
    ):
        for _ in range(2):
            await listen(stack, http, url, await open_session(http, url))
        response = await http.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 503


@pytest.fixture
async def held() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        running.state.update_faults({"hold": True})  # jobs never finish: a wait for one stays in flight
        yield running


async def test_a_session_with_a_call_in_flight_is_not_ended_to_make_room(held: RunningEmulator, tmp_path: Path) -> None:
    async with http_server(settings_for(held, tmp_path), capped(2)) as url, httpx.AsyncClient() as http:
        async with http_client(url, token=None) as client:  # 2026 era: sessionless, takes no slot
            started = await client.call_tool(
                "edit_image", {"prompt": "p", "image": "https://e.com/a.png", "wait_seconds": 0}
            )
        assert started.structured_content is not None
        prediction_id = started.structured_content["prediction_id"]
        calling = await open_session(http, url)
        call = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_prediction", "arguments": {"prediction_id": prediction_id, "wait_seconds": 60}},
        }
        headers = {**MCP_HEADERS, **VERSION, "mcp-session-id": calling}
        async with http.stream("POST", f"{url}/mcp", json=call, headers=headers) as waiting:
            assert waiting.status_code == 200
            idle = await open_session(http, url)
            newcomer = await open_session(http, url)
            assert [await ping(http, url, s) for s in (calling, idle, newcomer)] == [200, 404, 200]


async def test_without_sessions_the_settings_do_not_apply(emulator: RunningEmulator, tmp_path: Path) -> None:
    options = HttpSettings(stateless=True, max_sessions=1)
    async with http_server(settings_for(emulator, tmp_path), options) as url, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(http_client(url, token=None, mode="legacy")) for _ in range(3)]
        for client in clients:
            assert (await client.list_tools()).tools


async def test_sse_streams_are_capped_and_a_closed_one_frees_its_place(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    options = HttpSettings(transport="sse", max_sessions=1)
    async with http_server(settings_for(emulator, tmp_path), options) as url, httpx.AsyncClient() as http:
        async with http.stream("GET", f"{url}/sse") as first:
            assert first.status_code == 200
            assert (await http.get(f"{url}/sse")).status_code == 503
        with anyio.fail_after(10):  # the server learns that the stream closed a moment later
            while True:
                async with http.stream("GET", f"{url}/sse") as again:
                    if again.status_code == 200:
                        break
                await anyio.sleep(0.05)


@pytest.mark.parametrize(
    ("stateless", "manager"), [(False, IdleFirstSessionManager), (True, StreamableHTTPSessionManager)]
)
def test_this_sdk_lets_the_session_manager_make_room(
    tmp_path: Path, stateless: bool, manager: type[StreamableHTTPSessionManager]
) -> None:
    """The idle-first admission reads the SDK's own session registry: an SDK that changed it fails here first."""
    server = create_server(Settings(cache_dir=tmp_path / "cache"))
    build_http_app(server, HttpSettings(stateless=stateless))
    assert type(server.session_manager) is manager
