"""Our server over HTTP for real: uvicorn on a loopback port in the test's event loop, and clients for it."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from fakes import API_KEY
from harness import pictures_dir
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import RunningEmulator
from qwen_image_edit_mcp.emulator.loopback import base_url, loopback_socket, serving
from qwen_image_edit_mcp.surface.http import build_http_app
from qwen_image_edit_mcp.surface.server import create_server

TOKEN = "http-token-0123456789abcdef"  # distinctive, so a leak scan cannot miss it
SECURED = HttpSettings(auth_token=SecretStr(TOKEN))
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def settings_for(emulator: RunningEmulator, tmp_path: Path) -> Settings:
    """The server's settings against a running emulator, with its folders and cache inside the test's tmp_path."""
    return Settings(
        api_key=SecretStr(API_KEY),
        base_url=emulator.base_url,
        output_dir=tmp_path / "outputs",
        allowed_dirs=(pictures_dir(tmp_path),),
        cache_dir=tmp_path / "cache",
    )


@asynccontextmanager
async def http_server(settings: Settings, http: HttpSettings | None = None) -> AsyncGenerator[str]:
    """Serve; yields the base URL (http://127.0.0.1:PORT)."""
    sock = loopback_socket()
    http = replace(http or HttpSettings(), port=sock.getsockname()[1])
    app = build_http_app(create_server(settings), http)
    async with serving(app, sock, lifespan="on"):
        yield base_url(sock)


@asynccontextmanager
async def http_client(url: str, token: str | None = TOKEN, mode: str = "auto") -> AsyncGenerator[Client]:
    """A connected SDK client over streamable HTTP; the httpx2 client it is given is ours to close."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client:
        yield client


def sse_mcp_client(url: str, token: str | None = TOKEN) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(sse_client(f"{url}/sse", headers=headers), mode="legacy")


def free_port() -> int:
    """A loopback port nothing listens on right now, for a server started as its own process."""
    sock = loopback_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


class LogWatch(logging.Handler):
    """Log records as they come, and an event for the one a test waits for."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.changed = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")
        self.changed.set()
        self.changed = anyio.Event()

    async def wait_for(self, pattern: str) -> str:
        with anyio.fail_after(15):
            while not (found := [line for line in self.lines if re.search(pattern, line)]):
                await self.changed.wait()
        return found[0]
