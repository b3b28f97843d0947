"""The one-shot calls: a submit sent at most once unless nothing can have arrived, and a single read that rides out
a brief outage within its window."""

from __future__ import annotations

import anyio
import httpx
import pytest
from scripted import INPUTS, MODEL_ID, REQUEST, client_for, failure, ok, scripted

from fakes import FakeClock
from qwen_image_edit_mcp.errors import ConnectionFailedError, NotFoundError, RateLimitError, ServerError
from qwen_image_edit_mcp.jobs.waiting import SUBMIT_RETRIES, read_prediction, submit_once
from qwen_image_edit_mcp.models import Prediction
from qwen_image_edit_mcp.upstream.types import RunRequest

pytestmark = pytest.mark.anyio


async def test_a_rate_limited_submit_created_nothing_so_it_is_retried_honouring_retry_after(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    limited = failure(429, "slow", **{"Retry-After": "1.5"})
    client = scripted([limited, limited, ok("created")], requests)
    prediction = await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
    assert prediction.id == "job1"
    assert len(requests) == 3
    assert clock.sleeps == [1.5, 1.5]


async def test_submit_retries_are_bounded(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([failure(429, "slow")], requests)
    with pytest.raises(RateLimitError):
        await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 500)
    assert len(requests) == SUBMIT_RETRIES + 1


async def test_submit_retry_never_outlives_the_deadline(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([failure(429, "slow", **{"Retry-After": "5"})], requests)
    with pytest.raises(RateLimitError):
        await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 3)
    assert len(requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("step", "raised"),
    [
        (httpx.ReadTimeout("no answer"), ConnectionFailedError),
        (httpx.RemoteProtocolError("reset"), ConnectionFailedError),
        (failure(500), "500"),
        (failure(502), "502"),
        (failure(504), "504"),
    ],
    ids=["read-timeout", "connection-reset", "500", "502", "504"],
)
async def test_a_submit_that_may_have_arrived_is_never_sent_again(
    clock: FakeClock, step: httpx.Response | Exception, raised: type[Exception] | str
) -> None:
    requests: list[httpx.Request] = []
    client = scripted([step], requests)
    expected = pytest.raises(raised) if isinstance(raised, type) else pytest.raises(Exception, match=raised)
    with expected:
        await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
    assert len(requests) == 1


async def test_a_submit_whose_connection_never_opened_is_retried(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.ConnectError("refused"), ok("created")], requests)
    prediction = await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
    assert prediction.id == "job1"
    assert len(requests) == 2


@pytest.mark.parametrize(("sync", "learned"), [(False, True), (True, False)])
async def test_a_cancel_during_an_async_submit_waits_for_the_id_but_a_sync_submit_stops_at_once(
    clock: FakeClock, sync: bool, learned: bool
) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        return ok("created")

    client = client_for(handler)
    request = RunRequest(MODEL_ID, {**INPUTS, "enable_sync_mode": sync})
    got: list[Prediction] = []

    async def submit() -> None:
        got.append(await submit_once(client, request, clock=clock, deadline=clock.now() + 50))

    async with anyio.create_task_group() as group:
        group.start_soon(submit)
        await entered.wait()
        group.cancel_scope.cancel()  # the caller walks away while the POST is in flight
        release.set()
    assert [p.id for p in got] == (["job1"] if learned else [])


async def test_a_single_read_rides_out_a_brief_outage(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([failure(503, "busy"), ok("processing")], requests)
    prediction = await read_prediction(client, "job1", clock=clock, retry_until=clock.now() + 10)
    assert prediction.status == "processing"
    assert len(requests) == 2
    assert clock.sleeps == [0.5]


async def test_a_single_read_gives_up_at_once_on_a_refusal(clock: FakeClock) -> None:
    refused: list[httpx.Request] = []
    client = scripted([failure(404, "prediction not found")], refused)
    with pytest.raises(NotFoundError):
        await read_prediction(client, "job1", clock=clock, retry_until=clock.now() + 10)
    assert len(refused) == 1


async def test_a_single_read_gives_up_on_an_outage_within_its_window(clock: FakeClock) -> None:
    down: list[httpx.Request] = []
    client = scripted([failure(500, "down")], down)
    start = clock.now()
    with pytest.raises(ServerError):
        await read_prediction(client, "job1", clock=clock, retry_until=start + 3)
    assert clock.now() - start <= 3
    assert len(down) == 3  # tries at 0, 0.5 and 1.5 s; the next (after 2 s more) would pass the window
