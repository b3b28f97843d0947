"""Upstream faults, injected by the emulator running as a real loopback server (real sockets, real clock): each ends
in a completed edit or a clear error that carries the prediction id once one exists."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult
from pydantic import SecretStr

from fakes import API_KEY
from harness import images_of, text_of
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.jobs import follow as results
from qwen_image_edit_mcp.surface.server import create_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
URL_IMAGE = "https://example.com/street.jpg"
SUBMIT = "/api/v3/wavespeed-ai/qwen-image/edit"


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        yield running


async def edit(emulator: RunningEmulator, tmp_path: Path, faults: dict[str, Any], **arguments: Any) -> CallToolResult:
    emulator.state.update_faults(faults)
    settings = Settings(
        api_key=SecretStr(API_KEY),
        base_url=emulator.base_url,
        request_timeout=0.5,  # so that a stalled poll times out quickly
        cache_dir=tmp_path / "cache",
    )
    async with Client(create_server(settings)) as client:
        return await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, **arguments})


def count(emulator: RunningEmulator, method: str, suffix: str) -> int:
    return sum(1 for e in emulator.state.request_log() if e["method"] == method and e["path"].endswith(suffix))


def completed(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    return result.structured_content


async def test_rate_limited_submits_are_retried_and_create_exactly_one_prediction(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    completed(await edit(emulator, tmp_path, {"submit_429": 2, "retry_after": 0.1}))
    assert count(emulator, "POST", SUBMIT) == 3
    assert len(emulator.state.predictions) == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"poll_errors": 3, "poll_error_status": 500},
        {"poll_errors": 2, "poll_error_status": 502},
        {"poll_html_errors": 3},
        {"poll_stalls": 2, "stall_seconds": 2.0},
        {"poll_resets": 2},
        {"envelope_errors": 2, "envelope_error_code": 500},
    ],
    ids=["500", "502", "html-gateway-page", "timeout", "connection-reset", "envelope-code-500"],
)
async def test_poll_faults_are_ridden_out_and_the_edit_completes(
    emulator: RunningEmulator, tmp_path: Path, faults: dict[str, Any]
) -> None:
    report = completed(await edit(emulator, tmp_path, faults))
    assert report["polls"] >= 2
    assert len(emulator.state.predictions) == 1


async def test_polls_that_never_recover_end_in_an_error_that_keeps_the_id(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = await edit(emulator, tmp_path, {"poll_errors": 1000})
    assert result.is_error
    (prediction_id,) = emulator.state.predictions
    assert prediction_id in text_of(result)
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)


@pytest.mark.parametrize(
    ("faults", "advice"),
    [
        ({"envelope_errors": 1, "envelope_error_code": 401}, "topped up"),
        ({"envelope_errors": 1, "envelope_error_code": 403}, "suspended"),
    ],
)
async def test_a_refused_key_during_polling_stops_at_once_and_keeps_the_id(
    emulator: RunningEmulator, tmp_path: Path, faults: dict[str, Any], advice: str
) -> None:
    result = await edit(emulator, tmp_path, faults)
    assert result.is_error
    assert advice in text_of(result)
    (prediction_id,) = emulator.state.predictions
    assert prediction_id in text_of(result)
    assert count(emulator, "GET", "/result") == 1  # no retry storm


@pytest.mark.parametrize(("status", "advice"), [(401, "topped up"), (403, "suspended")])
async def test_a_refused_submit_is_explained_and_not_retried(
    emulator: RunningEmulator, tmp_path: Path, status: int, advice: str
) -> None:
    result = await edit(emulator, tmp_path, {"submit_error_status": status, "submit_error_count": 1})
    assert result.is_error
    assert advice in text_of(result)
    assert "No job was created" in text_of(result)
    assert count(emulator, "POST", SUBMIT) == 1
    assert emulator.state.predictions == {}


@pytest.mark.parametrize(
    ("code", "explained"),
    [(1200, "Content Moderation"), (1402, "publicly reachable"), (5003, "Try again in a minute")],
)
async def test_task_failures_are_explained_with_the_id(
    emulator: RunningEmulator, tmp_path: Path, code: int, explained: str
) -> None:
    result = await edit(emulator, tmp_path, {"fail_code": code, "fail_message": "upstream says no", "fail_count": 1})
    assert result.is_error
    (prediction_id,) = emulator.state.predictions
    assert prediction_id in text_of(result)
    assert explained in text_of(result)
    assert "upstream says no" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["error_code"] == code


async def test_nsfw_flags_are_surfaced(emulator: RunningEmulator, tmp_path: Path) -> None:
    report = completed(await edit(emulator, tmp_path, {"nsfw": True}))
    assert report["has_nsfw_contents"] == [True]


async def test_an_output_url_that_404s_still_gives_the_url_and_id_and_says_why(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = await edit(emulator, tmp_path, {"output_missing": True})
    report = completed(result)
    assert images_of(result) == []
    assert report["outputs"][0] in text_of(result)
    assert report["prediction_id"] in text_of(result)
    assert "fetching the output failed (the output URL answered HTTP 404)" in text_of(result)


async def test_an_output_url_that_stalls_still_gives_the_url_and_id_and_says_why(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "DOWNLOAD_TIMEOUT", 0.5)
    result = await edit(emulator, tmp_path, {"output_stall_seconds": 5.0})
    report = completed(result)
    assert images_of(result) == []
    assert report["outputs"][0] in text_of(result)
    assert "did not finish downloading within 0.5 s" in text_of(result)


async def test_a_sync_504_that_carries_the_id_continues_by_polling(emulator: RunningEmulator, tmp_path: Path) -> None:
    completed(await edit(emulator, tmp_path, {"sync_504_with_id": 1}, enable_sync_mode=True))
    assert count(emulator, "POST", SUBMIT) == 1
    assert count(emulator, "GET", "/result") >= 1


async def test_a_sync_504_without_an_id_says_what_happened_and_how_to_find_the_job(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = await edit(emulator, tmp_path, {"sync_504": 1}, enable_sync_mode=True)
    assert result.is_error
    text = text_of(result)
    assert "may still have been created" in text
    assert "list_predictions" in text
    assert count(emulator, "POST", SUBMIT) == 1
