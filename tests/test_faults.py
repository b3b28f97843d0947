"""Upstream faults, injected by the emulator: each ends in a completed edit or a clear error that carries the
prediction id once one exists.

Most cases only need the emulator's HTTP answers, so they run in process on the fake clock and the backoff between
retries costs nothing. The few that need a real socket (a connection dropped mid-answer, a request or a download
that must time out) run against the emulator on loopback, with timeouts of a fraction of a second.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from harness import World, family_arguments, images_of, make_world, text_of
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.jobs import follow as results
from qwen_image_edit_mcp.jobs.runtime import Runtime
from qwen_image_edit_mcp.surface.server import create_server
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.wavespeed.endpoints import submit_path

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]
URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path, latency=0.3, keep_outputs=False)


async def call(server: MCPServer[Runtime], tool: str = "edit_image", **arguments: Any) -> CallToolResult:
    if tool == "edit_image":  # as the model given (edit unless said) takes its image and LoRAs
        arguments = family_arguments(arguments.pop("model", "edit"), [URL_IMAGE], prompt="x", **arguments)
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


async def edit(world: World, faults: dict[str, Any], **arguments: Any) -> CallToolResult:
    world.emulator.update_faults(faults)
    return await call(world.server, **arguments)


def completed(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    return result.structured_content


@pytest.mark.parametrize("model", list(BUILT_IN))
@pytest.mark.parametrize("retry_after", [0.1, 1.0])
async def test_rate_limited_submits_are_retried_after_retry_after_and_create_exactly_one_prediction(
    world: World, retry_after: float, model: str
) -> None:
    report = completed(await edit(world, {"submit_429": 2, "retry_after": retry_after}, model=model))
    assert report["variant"] == model
    assert len(world.submits()) == 3
    assert {submit["path"] for submit in world.submits()} == {submit_path(BUILT_IN[model].model_id)}
    assert len(world.emulator.predictions) == 1
    assert world.clock.sleeps[:2] == [retry_after, retry_after]


@pytest.mark.parametrize("model", list(BUILT_IN))
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_on_submit_is_never_resent_and_says_a_job_may_exist(
    world: World, status: int, model: str
) -> None:
    result = await edit(world, {"submit_error_status": status, "submit_error_count": 1}, model=model)
    assert result.is_error
    assert "may or may not have been created" in text_of(result)
    assert "list_predictions" in text_of(result)
    assert len(world.submits()) == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"poll_errors": 3, "poll_error_status": 500},
        {"poll_errors": 2, "poll_error_status": 502},
        {"poll_html_errors": 3},
        {"poll_errors": 2, "poll_error_status": 503, "poll_html_errors": 1},
        {"envelope_errors": 2, "envelope_error_code": 500},
    ],
    ids=["500", "502", "html-gateway-page", "503-then-gateway-page", "envelope-code-500"],
)
async def test_poll_faults_are_ridden_out_and_the_edit_completes(world: World, faults: dict[str, Any]) -> None:
    report = completed(await edit(world, faults))
    assert report["polls"] >= 2
    assert len(world.emulator.predictions) == 1


async def test_polls_that_never_recover_end_in_an_error_that_keeps_the_id(world: World) -> None:
    result = await edit(world, {"poll_errors": 1000})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["pending"] is True
    (prediction_id,) = world.emulator.predictions
    assert result.structured_content["prediction_id"] == prediction_id
    assert prediction_id in text_of(result)
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)


async def test_get_prediction_rides_out_a_brief_outage_even_when_it_only_looks(world: World) -> None:
    pending = await call(world.server, wait_seconds=0)
    assert pending.structured_content is not None
    prediction_id = pending.structured_content["prediction_id"]
    world.emulator.update_faults({"poll_errors": 2})
    looked = await call(world.server, "get_prediction", prediction_id=prediction_id)
    assert not looked.is_error, text_of(looked)
    assert looked.structured_content is not None
    assert looked.structured_content["prediction_id"] == prediction_id


@pytest.mark.parametrize(
    ("faults", "advice"),
    [
        ({"envelope_errors": 1, "envelope_error_code": 401}, "topped up"),
        ({"envelope_errors": 1, "envelope_error_code": 403}, "suspended"),
    ],
)
async def test_a_refused_key_during_polling_stops_at_once_and_keeps_the_id(
    world: World, faults: dict[str, Any], advice: str
) -> None:
    result = await edit(world, faults)
    assert result.is_error
    assert advice in text_of(result)
    (prediction_id,) = world.emulator.predictions
    assert prediction_id in text_of(result)
    assert len(world.polls()) == 1  # no retry storm


@pytest.mark.parametrize(("status", "advice"), [(401, "topped up"), (403, "suspended")])
async def test_a_refused_submit_is_explained_and_not_retried(world: World, status: int, advice: str) -> None:
    result = await edit(world, {"submit_error_status": status, "submit_error_count": 1})
    assert result.is_error
    assert advice in text_of(result)
    assert "No job was created" in text_of(result)
    assert len(world.submits()) == 1
    assert world.emulator.predictions == {}


@pytest.mark.parametrize(
    ("code", "explained"),
    [(1200, "Content Moderation"), (1402, "publicly reachable"), (5003, "Try again in a minute")],
)
async def test_task_failures_are_explained_with_the_id(world: World, code: int, explained: str) -> None:
    result = await edit(world, {"fail_code": code, "fail_message": "upstream says no", "fail_count": 1})
    assert result.is_error
    (prediction_id,) = world.emulator.predictions
    assert prediction_id in text_of(result)
    assert explained in text_of(result)
    assert "upstream says no" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["error_code"] == code


async def test_nsfw_flags_are_surfaced(world: World) -> None:
    result = await edit(world, {"nsfw": True})
    assert completed(result)["has_nsfw_contents"] == [True]
    assert "NSFW" in text_of(result)


async def test_an_output_url_that_404s_still_gives_the_url_and_id_and_says_why(world: World) -> None:
    result = await edit(world, {"output_missing": True})
    report = completed(result)
    assert images_of(result) == []
    assert report["outputs"][0] in text_of(result)
    assert report["prediction_id"] in text_of(result)
    assert "fetching the output failed (the output URL answered HTTP 404)" in text_of(result)


async def test_a_sync_504_that_carries_the_id_continues_by_polling(world: World) -> None:
    completed(await edit(world, {"sync_504_with_id": 1}, enable_sync_mode=True))
    assert len(world.submits()) == 1
    assert len(world.polls()) >= 1


@pytest.mark.parametrize("model", list(BUILT_IN))
async def test_a_sync_504_without_an_id_says_what_happened_and_how_to_find_the_job(world: World, model: str) -> None:
    result = await edit(world, {"sync_504": 1}, enable_sync_mode=True, model=model)
    assert result.is_error
    text = text_of(result)
    assert "may still have been created" in text
    assert "list_predictions" in text
    assert "dashboard" in text
    assert len(world.submits()) == 1  # never resent: it may have created a paid job


# --- real sockets: what only a real connection can do ---------------------------------------------------------


@asynccontextmanager
async def over_loopback(clock: FakeClock, tmp_path: Path) -> AsyncGenerator[tuple[RunningEmulator, MCPServer[Runtime]]]:
    """The emulator on loopback (an instant job, on the real clock) and a server whose waits run on the fake clock:
    only the timeouts of real requests take real time."""
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0)) as emulator:
        settings = Settings(
            api_key=SecretStr(API_KEY),
            base_url=emulator.base_url,
            request_timeout=0.5,  # so that a stalled poll times out quickly
            cache_dir=tmp_path / "cache",
        )
        yield emulator, create_server(settings, clock=clock)


def count(emulator: RunningEmulator, method: str, suffix: str) -> int:
    return sum(1 for e in emulator.state.request_log() if e["method"] == method and e["path"].endswith(suffix))


@pytest.mark.parametrize(
    "faults",
    [{"poll_stalls": 2, "stall_seconds": 0.8}, {"poll_resets": 2}],
    ids=["timeout", "connection-reset"],
)
async def test_polls_that_time_out_or_drop_the_connection_are_ridden_out(
    clock: FakeClock, tmp_path: Path, faults: dict[str, Any]
) -> None:
    async with over_loopback(clock, tmp_path) as (emulator, server):
        emulator.state.update_faults(faults)
        report = completed(await call(server))
    assert report["polls"] >= 2
    assert count(emulator, "GET", "/result") == 3
    assert len(emulator.state.predictions) == 1


async def test_an_output_url_that_stalls_still_gives_the_url_and_id_and_says_why(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "DOWNLOAD_TIMEOUT", 0.5)
    async with over_loopback(clock, tmp_path) as (emulator, server):
        emulator.state.update_faults({"output_stall_seconds": 1.0})
        result = await call(server)
    report = completed(result)
    assert images_of(result) == []
    assert report["outputs"][0] in text_of(result)
    assert report["prediction_id"] in text_of(result)
    assert "did not finish downloading within 0.5 s" in text_of(result)
