from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.errors import (
    AuthenticationError,
    ConnectionFailedError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from qwen_image_edit_mcp.jobs.schedule import DurationHistory
from qwen_image_edit_mcp.jobs.waiting import (
    MAX_RETRY_AFTER,
    POLL_RETRIES,
    SUBMIT_RETRIES,
    read_prediction,
    retry_delay,
    submit_once,
    wait_for_prediction,
)
from qwen_image_edit_mcp.models import EditRequest, Prediction
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

REQUEST = EditRequest(prompt="add a hat", images=("https://example.com/a.png",))


def test_retry_delay_backs_off_exponentially_capped_and_honours_a_bounded_retry_after() -> None:
    assert [retry_delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert retry_delay(1, retry_after=3.0) == 3.0
    assert retry_delay(1, retry_after=3600.0) == MAX_RETRY_AFTER


Script = list[httpx.Response | Exception]


def scripted(script: Script, log: list[httpx.Request]) -> WaveSpeedClient:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        step = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(step, Exception):
            raise step
        return step

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")


def ok(status: str, **extra: object) -> httpx.Response:
    return httpx.Response(
        200, json={"code": 200, "message": "success", "data": {"id": "job1", "status": status, **extra}}
    )


async def no_progress(message: str) -> None:
    pass


def progress_into(messages: list[str]) -> Callable[[str], Awaitable[None]]:
    async def record(message: str) -> None:
        messages.append(message)

    return record


@pytest.mark.anyio
async def test_polling_follows_the_job_to_completion_and_reports_each_poll(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted(
        [ok("processing"), ok("processing"), ok("completed", outputs=["https://cdn.test/o.jpeg"])], requests
    )
    messages: list[str] = []
    outcome = await wait_for_prediction(
        client,
        Prediction(id="job1", status="created"),
        clock=clock,
        deadline=clock.now() + 50,
        started=clock.now(),
        on_progress=progress_into(messages),
    )
    assert outcome.prediction.succeeded
    assert outcome.polls == 3
    assert not outcome.timed_out
    assert clock.sleeps == [1.0, 0.25, 0.25]
    assert messages[0] == "prediction job1: processing"
    assert messages[-1] == "prediction job1: completed"


@pytest.mark.anyio
async def test_the_deadline_ends_the_wait_with_the_id_and_a_last_look(clock: FakeClock) -> None:
    client = scripted([ok("processing")], [])
    start = clock.now()
    outcome = await wait_for_prediction(
        client,
        Prediction(id="job1", status="created"),
        clock=clock,
        deadline=start + 2.0,
        started=start,
        on_progress=no_progress,
    )
    assert outcome.timed_out
    assert outcome.pending
    assert outcome.prediction.id == "job1"
    assert clock.now() - start == pytest.approx(2.0)


@pytest.mark.anyio
async def test_transient_poll_failures_are_retried_with_backoff(clock: FakeClock) -> None:
    client = scripted(
        [
            httpx.Response(503, json={"code": 503, "message": "busy"}),
            httpx.ConnectError("refused"),
            httpx.Response(502, html="<html>Bad Gateway</html>"),
            httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 429, "message": "slow"}),
            ok("completed", outputs=["https://cdn.test/o.jpeg"]),
        ],
        [],
    )
    outcome = await wait_for_prediction(
        client,
        Prediction(id="job1", status="processing"),
        clock=clock,
        deadline=clock.now() + 60,
        started=clock.now(),
        on_progress=no_progress,
    )
    assert outcome.prediction.succeeded
    assert outcome.interruption is None
    assert clock.sleeps == [1.0, 0.5, 1.0, 2.0, 2.0]


@pytest.mark.anyio
async def test_polling_gives_up_after_bounded_retries_but_keeps_the_id(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.Response(500, json={"code": 500, "message": "down"})], requests)
    outcome = await wait_for_prediction(
        client,
        Prediction(id="job1", status="processing"),
        clock=clock,
        deadline=clock.now() + 600,
        started=clock.now(),
        on_progress=no_progress,
    )
    assert outcome.pending
    assert outcome.prediction.id == "job1"
    assert outcome.interruption is not None
    assert len(requests) == POLL_RETRIES + 1


@pytest.mark.anyio
async def test_a_refusal_that_retrying_cannot_fix_stops_polling_at_once(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.Response(401, json={"code": 401, "message": "bad key"})], requests)
    outcome = await wait_for_prediction(
        client,
        Prediction(id="job1", status="processing"),
        clock=clock,
        deadline=clock.now() + 600,
        started=clock.now(),
        on_progress=no_progress,
    )
    assert isinstance(outcome.interruption, AuthenticationError)
    assert len(requests) == 1


@pytest.mark.anyio
async def test_a_rate_limited_submit_created_nothing_so_it_is_retried_honouring_retry_after(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    limited = httpx.Response(429, headers={"Retry-After": "1.5"}, json={"code": 429, "message": "slow"})
    client = scripted([limited, limited, ok("created")], requests)
    prediction = await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
    assert prediction.id == "job1"
    assert len(requests) == 3
    assert clock.sleeps == [1.5, 1.5]


@pytest.mark.anyio
async def test_submit_retries_are_bounded(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.Response(429, json={"code": 429, "message": "slow"})], requests)
    with pytest.raises(RateLimitError):
        await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 500)
    assert len(requests) == SUBMIT_RETRIES + 1


@pytest.mark.anyio
async def test_submit_retry_never_outlives_the_deadline(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    limited = httpx.Response(429, headers={"Retry-After": "5"}, json={"code": 429, "message": "slow"})
    client = scripted([limited], requests)
    with pytest.raises(RateLimitError):
        await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 3)
    assert len(requests) == 1
    assert clock.sleeps == []


@pytest.mark.anyio
async def test_a_submit_that_may_have_arrived_is_never_sent_again(clock: FakeClock) -> None:
    for failure in (httpx.ReadTimeout("no answer"), httpx.RemoteProtocolError("reset")):
        requests: list[httpx.Request] = []
        client = scripted([failure], requests)
        with pytest.raises(ConnectionFailedError):
            await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
        assert len(requests) == 1
    for status in (500, 502, 504):
        requests = []
        client = scripted([httpx.Response(status, json={"code": status, "message": "?"})], requests)
        with pytest.raises(Exception, match=str(status)):
            await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
        assert len(requests) == 1


@pytest.mark.anyio
async def test_a_submit_whose_connection_never_opened_is_retried(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.ConnectError("refused"), ok("created")], requests)
    prediction = await submit_once(client, REQUEST, clock=clock, deadline=clock.now() + 50)
    assert prediction.id == "job1"
    assert len(requests) == 2


@pytest.mark.anyio
async def test_a_single_read_rides_out_a_brief_outage(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []
    client = scripted([httpx.Response(503, json={"code": 503, "message": "busy"}), ok("processing")], requests)
    prediction = await read_prediction(client, "job1", clock=clock, retry_until=clock.now() + 10)
    assert prediction.status == "processing"
    assert len(requests) == 2
    assert clock.sleeps == [0.5]


@pytest.mark.anyio
async def test_a_single_read_gives_up_at_once_on_a_refusal_and_within_its_window_on_an_outage(
    clock: FakeClock,
) -> None:
    refused: list[httpx.Request] = []
    client = scripted([httpx.Response(404, json={"code": 404, "message": "prediction not found"})], refused)
    with pytest.raises(NotFoundError):
        await read_prediction(client, "job1", clock=clock, retry_until=clock.now() + 10)
    assert len(refused) == 1

    down: list[httpx.Request] = []
    client = scripted([httpx.Response(500, json={"code": 500, "message": "down"})], down)
    start = clock.now()
    with pytest.raises(ServerError):
        await read_prediction(client, "job1", clock=clock, retry_until=start + 3)
    assert clock.now() - start <= 3
    assert len(down) == 3  # tries at 0, 0.5 and 1.5 s; the next (after 2 s more) would pass the window


@pytest.mark.anyio
async def test_the_wait_learns_from_one_job_and_polls_the_next_near_its_expected_finish(clock: FakeClock) -> None:
    class Job:
        """A job that completes 3 s after it started, on the fake clock."""

        def __init__(self) -> None:
            self.started = clock.now()

        def handler(self, request: httpx.Request) -> httpx.Response:
            done = clock.now() - self.started >= 3.0
            extra: dict[str, object] = {"outputs": ["https://cdn.test/o.jpeg"], "timings": {"inference": 3000}}
            return ok("completed", **extra) if done else ok("processing")

    history = DurationHistory()
    polls: list[int] = []
    for _ in range(2):
        job = Job()
        http = httpx.AsyncClient(transport=httpx.MockTransport(job.handler))
        client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
        outcome = await wait_for_prediction(
            client,
            Prediction(id="job1", status="created"),
            clock=clock,
            deadline=clock.now() + 50,
            started=job.started,
            on_progress=no_progress,
            history=history,
        )
        assert outcome.prediction.succeeded
        polls.append(outcome.polls)
    assert polls == [7, 1]  # the second job is looked at once, just after its expected finish
    assert history.window() is not None


@pytest.mark.anyio
@pytest.mark.parametrize(("sync", "learned"), [(False, True), (True, False)])
async def test_a_cancel_during_an_async_submit_waits_for_the_id_but_a_sync_submit_stops_at_once(
    clock: FakeClock, sync: bool, learned: bool
) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        return ok("created")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")
    request = EditRequest(prompt="add a hat", images=("https://example.com/a.png",), enable_sync_mode=sync)
    got: list[Prediction] = []

    async def submit() -> None:
        got.append(await submit_once(client, request, clock=clock, deadline=clock.now() + 50))

    async with anyio.create_task_group() as group:
        group.start_soon(submit)
        await entered.wait()
        group.cancel_scope.cancel()  # the caller walks away while the POST is in flight
        release.set()
    assert [p.id for p in got] == (["job1"] if learned else [])
