"""Edits over HTTP for real (uvicorn on loopback), against the emulator on loopback: streamable HTTP, legacy SSE and
stateless mode with progress, a cancel, twenty edits at once, and several worker processes on one port."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from fakes import API_KEY
from harness import images_of, text_of
from http_harness import (
    SECURED,
    TOKEN,
    LogWatch,
    free_port,
    http_client,
    http_server,
    settings_for,
    sse_mcp_client,
)
from qwen_image_edit_mcp.config import HttpSettings
from qwen_image_edit_mcp.emulator import RunningEmulator

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
URL_IMAGE = "https://example.com/street.jpg"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_edit_over_streamable_http_reports_progress(
    emulator: RunningEmulator, tmp_path: Path, mode: str
) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, http_client(url, mode=mode) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add a kite", "image": URL_IMAGE, "size": "512*512"}, progress_callback=on_progress
        )
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert report["status"] == "completed"
    assert len(images_of(result)) == 1
    assert any(f"submitted: prediction {report['prediction_id']}" in m for m in messages)
    assert any("completed" in m for m in messages)
    (submit,) = [e for e in emulator.state.request_log() if e["method"] == "POST" and e["path"].endswith("/edit")]
    assert submit["has_authorization"]  # the server's own key reached WaveSpeed (the emulator accepts only it)


async def test_an_edit_over_legacy_sse_works_with_progress(emulator: RunningEmulator, tmp_path: Path) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    options = HttpSettings(transport="sse", auth_token=SecretStr(TOKEN))
    async with http_server(settings_for(emulator, tmp_path), options) as url, sse_mcp_client(url) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "x", "image": URL_IMAGE}, progress_callback=on_progress
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert messages


async def test_stateless_mode_serves_legacy_clients_with_progress(emulator: RunningEmulator, tmp_path: Path) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    options = HttpSettings(auth_token=SecretStr(TOKEN), stateless=True)
    async with http_server(settings_for(emulator, tmp_path), options) as url, http_client(url, mode="legacy") as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "x", "image": URL_IMAGE}, progress_callback=on_progress
        )
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert any("submitted: prediction" in message for message in messages)


async def test_cancelling_over_http_stops_the_wait_and_logs_the_id(
    emulator: RunningEmulator, tmp_path: Path, log_watch: LogWatch
) -> None:
    emulator.state.update_faults({"hold": True})
    submitted = anyio.Event()
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")
        if "submitted: prediction" in (message or ""):
            submitted.set()

    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, http_client(url) as client:
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE}, progress_callback=on_progress)

            group.start_soon(call)
            with anyio.fail_after(15):
                await submitted.wait()
            group.cancel_scope.cancel()
        prediction_id = next(m for m in seen if "submitted: prediction" in m).split()[2]
        line = await log_watch.wait_for(f"cancelled while following prediction {prediction_id}")
        still = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
    assert line.startswith("INFO")
    assert still.structured_content is not None
    assert still.structured_content["pending"] is True


async def test_twenty_concurrent_edits_run_in_parallel_on_one_server(
    emulator: RunningEmulator, tmp_path: Path, log_watch: LogWatch
) -> None:
    emulator.state.update_faults({"hold": True})
    all_submitted = anyio.Event()
    submitted: set[int] = set()
    results: dict[int, Any] = {}

    async with http_server(settings_for(emulator, tmp_path), SECURED) as url, http_client(url) as client:

        async def edit(n: int) -> None:
            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                if "submitted: prediction" in (message or ""):
                    submitted.add(n)
                    if len(submitted) == 20:
                        all_submitted.set()

            results[n] = await client.call_tool(
                "edit_image", {"prompt": f"edit {n}", "image": URL_IMAGE}, progress_callback=on_progress
            )

        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(edit, n)
            with anyio.fail_after(30):
                await all_submitted.wait()
            # All twenty are in flight at once: submitted, none finished (held), none waiting on another.
            assert len(emulator.state.predictions) == 20
            assert results == {}
            emulator.state.update_faults({"hold": False})
    assert len(results) == 20
    assert all(r.structured_content["status"] == "completed" for r in results.values())
    assert len(emulator.state.predictions) == 20
    assert TOKEN not in "\n".join(log_watch.lines)
    assert API_KEY not in "\n".join(log_watch.lines)
    assert all(TOKEN not in r.model_dump_json() for r in results.values())


async def test_several_worker_processes_serve_one_port(emulator: RunningEmulator, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_AUTH_TOKEN": TOKEN,
        "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "qwen_image_edit_mcp", "--transport", "streamable-http"]
    command += ["--port", str(port), "--workers", "2", "--stateless"]
    process = await anyio.open_process(command, env=env, cwd="/")
    try:
        assert process.stderr is not None
        started = 0
        with anyio.fail_after(30):
            async for chunk in process.stderr:  # wait on the workers' own words, not on a timer
                started += chunk.count(b"Application startup complete")
                if started >= 2:
                    break
        async with http_client(f"http://127.0.0.1:{port}", mode="legacy") as client:
            edits = [await client.call_tool("edit_image", {"prompt": f"{n}", "image": URL_IMAGE}) for n in range(3)]
    finally:
        process.terminate()
        await process.wait()
    assert all(edit.structured_content and edit.structured_content["status"] == "completed" for edit in edits)
    assert len(emulator.state.predictions) == 3
