"""The shared HTTP client is built on first use, once, however many calls need it at the same moment."""

from __future__ import annotations

import anyio
import httpx
import pytest

from qwen_image_edit_mcp.wavespeed import http_client
from qwen_image_edit_mcp.wavespeed.http_client import HttpClientOnDemand

pytestmark = pytest.mark.anyio


async def test_nothing_is_built_until_a_request_needs_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[httpx.AsyncClient] = []

    def counting(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
        built.append(httpx.AsyncClient(transport=transport))
        return built[-1]

    monkeypatch.setattr(http_client, "open_http_client", counting)
    async with HttpClientOnDemand() as pool:
        assert built == []  # a server that only lists its tools never pays for it
        got: list[httpx.AsyncClient] = []

        async def use() -> None:
            got.append(await pool.client())

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(use)
        assert len(built) == 1
        assert got == built * 20
    assert built[0].is_closed
