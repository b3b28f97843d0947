"""Shared fixtures: the anyio backend, a fresh fake clock per test, and the suite-wide scan for leaked secrets."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from fakes import API_KEY, SCAN, FakeClock
from http_harness import TOKEN


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        SCAN.add(text)


@pytest.fixture(scope="session", autouse=True)
def secrets_never_leave_the_server() -> Iterator[None]:
    """The whole suite's results, errors and logs are scanned for the API key and the HTTP token at the end."""
    handler = _Collect(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    original = Client.call_tool

    async def recording(self: Client, *args: Any, **kwargs: Any) -> CallToolResult:
        try:
            result = await original(self, *args, **kwargs)
        except Exception as exc:
            SCAN.add("".join(traceback.format_exception(exc)))
            raise
        SCAN.add(result.model_dump_json())
        SCAN.results += 1
        return result

    Client.call_tool = recording
    try:
        yield
    finally:
        Client.call_tool = original
        root.removeHandler(handler)
    leaks = SCAN.leaks((API_KEY, TOKEN))
    assert not leaks, f"a secret reached a result, an error or a log: {len(leaks)} of them"
