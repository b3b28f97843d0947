"""Over HTTP, a client that vanishes mid-call stops the work it asked for: streamable HTTP in both protocol eras,
and SSE."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

import anyio
import pytest
from pydantic import SecretStr

from fakes import API_KEY
from http_harness import LogWatch, http_client, http_server, sse_mcp_client
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator

pytestmark = pytest.mark.anyio

# A client process that starts a long wait and is then killed: no cancel notification, no goodbye, just a drop.
# Over SSE the tool call is a POST answered 202 at once and its result would travel on the event stream, so the
# stream dropping is the caller going away.
CLIENT = """
import sys, anyio
from mcp import Client
from mcp.client.sse import sse_client
async def main(url, prediction_id, mode):
    target = sse_client(url + "/sse") if mode == "sse" else url + "/mcp"
    async with Client(target, mode="legacy" if mode == "sse" else mode) as client:
        print("waiting", flush=True)
        await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 120})
anyio.run(main, *sys.argv[1:])
"""


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        running.state.update_faults({"hold": True})  # jobs never finish: only a cancel ends the wait
        yield running


@pytest.mark.parametrize("mode", ["legacy", "auto", "sse"])
async def test_a_client_that_dies_mid_wait_stops_the_wait_it_asked_for(
    emulator: RunningEmulator, tmp_path: Path, log_watch: LogWatch, mode: str
) -> None:
    settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
    transport = HttpSettings(transport="sse" if mode == "sse" else "streamable-http")
    async with http_server(settings, transport) as url:
        starter = sse_mcp_client(url, token=None) if mode == "sse" else http_client(url, token=None)
        async with starter as client:
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
            await log_watch.wait_for(f"/api/v3/predictions/{prediction_id}/result")  # the server has begun to wait
        process.kill()
        await process.wait()
        with anyio.fail_after(20):
            await log_watch.wait_for(f"cancelled while following prediction {prediction_id}")
