"""Over HTTP, a client that vanishes mid-call stops the work it asked for, in both protocol eras."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import anyio
import pytest
from pydantic import SecretStr

from fakes import API_KEY
from http_harness import http_client, http_server
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator

pytestmark = pytest.mark.anyio

# A client process that starts a long wait and is then killed: no cancel notification, no goodbye, just a drop.
CLIENT = """
import sys, anyio
from mcp import Client
async def main(url, prediction_id, mode):
    async with Client(url + "/mcp", mode=mode) as client:
        print("waiting", flush=True)
        await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 120})
anyio.run(main, *sys.argv[1:])
"""


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        running.state.update_faults({"hold": True})  # jobs never finish: only a cancel ends the wait
        yield running


class LogWait(logging.Handler):
    """Log lines as they come, and an event to wait on instead of a timer."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._changed = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_for(self, text: str) -> None:
        with anyio.fail_after(15):
            while not any(text in line for line in self.lines):
                await self._changed.wait()


@pytest.fixture
def log_wait() -> Iterator[LogWait]:
    handler, root = LogWait(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_that_dies_mid_wait_stops_the_wait_it_asked_for(
    emulator: RunningEmulator, tmp_path: Path, log_wait: LogWait, mode: str
) -> None:
    settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
    async with http_server(settings) as url:
        async with http_client(url, token=None) as client:
            started = await client.call_tool(
                "edit_image", {"prompt": "p", "image": "https://example.com/a.png", "wait_seconds": 0}
            )
        assert started.structured_content is not None
        prediction_id = started.structured_content["prediction_id"]
        process = await anyio.open_process(
            [sys.executable, "-c", CLIENT, url, prediction_id, mode], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert process.stdout is not None
        with anyio.fail_after(30):
            assert b"waiting" in await process.stdout.receive()
            await log_wait.wait_for(f"/api/v3/predictions/{prediction_id}/result")  # the server has begun to wait
        process.kill()
        await process.wait()
        await log_wait.wait_for(f"cancelled while following prediction {prediction_id}")
