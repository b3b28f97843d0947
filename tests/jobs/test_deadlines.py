"""Every call answers within its wait_seconds plus a bounded margin, with the id once it exists; odd answers and
abandoned submits leave the id (or the time of the attempt) where a caller can use them."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from harness import World, make_world, text_of
from qwen_image_edit_mcp.jobs import follow as follow_case
from qwen_image_edit_mcp.jobs import prepare as prepare_case
from qwen_image_edit_mcp.jobs import start as edit_case
from qwen_image_edit_mcp.jobs.waiting import wait_for_prediction
from qwen_image_edit_mcp.models import Prediction
from qwen_image_edit_mcp.state.ledger import Reservation
from qwen_image_edit_mcp.state.sqlite_ledger import SqliteLedger
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient
from qwen_image_edit_mcp.wavespeed.endpoints import PRICE_PATH, SUBMIT_PATH

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"


class Stall(httpx.AsyncBaseTransport):
    """Passes everything through, except requests `stalls` picks, which never get an answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, stalls: str) -> None:
        self._inner, self._stalls = inner, stalls
        self.stalled = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if (
            (self._stalls == "submit" and path == SUBMIT_PATH)
            or (self._stalls == "price" and path == PRICE_PATH)
            or (self._stalls == "outputs" and not path.startswith("/api/"))
        ):
            self.stalled.set()
            await anyio.sleep_forever()
        return await self._inner.handle_async_request(request)


def stalling(clock: FakeClock, tmp_path: Path, what: str) -> tuple[World, Stall]:
    stalls: list[Stall] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        stalls.append(Stall(inner, what))
        return stalls[0]

    world = make_world(clock, tmp_path, wrap=wrap)
    return world, stalls[0]


async def edit(world: World, **arguments: object) -> CallToolResult:
    async with Client(world.server) as client:
        with anyio.fail_after(10):  # the test's own bound: the server must answer long before
            return await client.call_tool("edit_image", {"prompt": "add a kite", "image": URL_IMAGE, **arguments})


async def test_a_stalled_submit_answers_by_the_margin_says_a_job_may_exist_and_logs_when(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(edit_case, "ANSWER_MARGIN", 0.2)
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.2)
    world, _ = stalling(clock, tmp_path, "submit")
    with caplog.at_level(logging.WARNING):
        result = await edit(world, wait_seconds=0)
    assert result.is_error
    assert "may have created a job" in text_of(result)
    assert "list_predictions" in text_of(result)
    assert "abandoned a submit of unknown outcome at 20" in caplog.text


async def test_a_stalled_price_lookup_ends_with_the_call_and_the_documented_price_is_reserved(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(edit_case, "ANSWER_MARGIN", 0.2)
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.2)
    world, stall = stalling(clock, tmp_path, "price")
    with caplog.at_level(logging.WARNING):
        result = await edit(world, wait_seconds=0)  # the look-up's own bounds (30 s, 10 s) are past the test's 10 s
    assert stall.stalled.is_set()
    assert "price lookup for wavespeed-ai/qwen-image/edit took longer than 1.0 s" in caplog.text
    assert result.structured_content is not None
    assert result.structured_content["prediction_id"] in text_of(result)  # submitted after all, and said
    assert result.structured_content["cost_usd"] == 0.02  # the documented price


async def test_a_stalled_ledger_commit_ends_with_the_call_and_keeps_the_id(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(edit_case, "ANSWER_MARGIN", 0.2)
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.2)

    async def stuck_commit(self: SqliteLedger, reservation: Reservation, prediction_id: str) -> None:
        await anyio.Event().wait()  # a lock the ledger never gets: another process stuck holding it

    monkeypatch.setattr(SqliteLedger, "commit", stuck_commit)
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("1"))
    with caplog.at_level(logging.WARNING):
        result = await edit(world, wait_seconds=0)
    assert result.structured_content is not None
    prediction_id = result.structured_content["prediction_id"]
    assert prediction_id in text_of(result)
    assert f"did not record prediction {prediction_id} within 1.0 s" in caplog.text


@pytest.mark.parametrize(("sync", "request_kind"), [(True, "sync-mode request"), (False, "no answer with an id")])
async def test_a_cancel_during_a_stalled_submit_logs_that_a_job_may_exist_and_when(
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sync: bool,
    request_kind: str,
) -> None:
    # The async submit is shielded from the cancel (one quick request, bounded by the call's time): a short margin
    # ends it here in a fraction of a second.
    monkeypatch.setattr(edit_case, "ANSWER_MARGIN", 0.2)
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.2)
    world, stall = stalling(clock, tmp_path, "submit")
    with caplog.at_level(logging.INFO):
        async with Client(world.server) as client, anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool(
                    "edit_image",
                    {"prompt": "p", "image": URL_IMAGE, "enable_sync_mode": sync, "wait_seconds": 10 if sync else 0},
                )

            group.start_soon(call)
            with anyio.fail_after(5):
                await stall.stalled.wait()
            group.cancel_scope.cancel()
    assert "abandoned a submit of unknown outcome at 20" in caplog.text
    assert request_kind in caplog.text


async def test_a_stalled_output_download_ends_with_the_call_and_keeps_the_id_and_url(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow_case, "ANSWER_MARGIN", 0.0)
    world, _ = stalling(clock, tmp_path, "outputs")
    result = await edit(world, wait_seconds=3.5)  # the emulator's job takes 3 s on the fake clock
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    (url,) = result.structured_content["outputs"]
    text = text_of(result)
    assert url in text
    assert result.structured_content["prediction_id"] in text
    assert "did not finish downloading within 1 s" in text


async def test_a_poll_answered_with_another_id_keeps_the_submitted_id_and_asks_again(clock: FakeClock) -> None:
    answers = iter(["other-job", "job-1"])

    def handler(request: httpx.Request) -> httpx.Response:
        data = {"id": next(answers), "status": "completed", "outputs": ["https://cdn.test/a.png"]}
        return httpx.Response(200, json={"code": 200, "message": "success", "data": data})

    client = WaveSpeedClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), api_key=SecretStr(API_KEY), base_url="https://x"
    )
    seen: list[str] = []

    async def progress(message: str) -> None:
        seen.append(message)

    outcome = await wait_for_prediction(
        client,
        Prediction(id="job-1"),
        clock=clock,
        deadline=clock.now() + 50,
        started=clock.now(),
        on_progress=progress,
    )
    assert outcome.prediction.id == "job-1"
    assert outcome.prediction.status == "completed"
    assert outcome.polls == 2
    assert any("another prediction's id" in message for message in seen)
