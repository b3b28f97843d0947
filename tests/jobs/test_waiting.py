"""Following a prediction until it is terminal: the poll loop's schedule, backoff, deadline and what it learns."""

from __future__ import annotations

import httpx
import pytest
from scripted import client_for, failure, no_progress, ok, progress_into, scripted

from fakes import FakeClock
from qwen_image_edit_mcp.errors import AuthenticationError, ServerError, WaveSpeedError
from qwen_image_edit_mcp.jobs.schedule import DurationHistory
from qwen_image_edit_mcp.jobs.waiting import MAX_RETRY_AFTER, POLL_RETRIES, retry_delay, wait_for_prediction
from qwen_image_edit_mcp.models import Prediction

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0)])
def test_retry_delay_backs_off_exponentially_and_is_capped(attempt: int, delay: float) -> None:
    assert retry_delay(attempt) == delay


@pytest.mark.parametrize(("retry_after", "delay"), [(3.0, 3.0), (3600.0, MAX_RETRY_AFTER)])
def test_retry_delay_honours_a_bounded_retry_after(retry_after: float, delay: float) -> None:
    assert retry_delay(1, retry_after=retry_after) == delay


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


async def test_transient_poll_failures_are_retried_with_backoff(clock: FakeClock) -> None:
    client = scripted(
        [
            failure(503, "busy"),
            httpx.ConnectError("refused"),
            httpx.Response(502, html="<html>Bad Gateway</html>"),
            failure(429, "slow", **{"Retry-After": "2"}),
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


@pytest.mark.parametrize(
    ("status", "error", "tries"),
    [(500, ServerError, POLL_RETRIES + 1), (401, AuthenticationError, 1)],
    ids=["an-outage-after-bounded-retries", "a-refusal-at-once"],
)
async def test_polling_gives_up_but_keeps_the_id(
    clock: FakeClock, status: int, error: type[WaveSpeedError], tries: int
) -> None:
    requests: list[httpx.Request] = []
    client = scripted([failure(status, "down")], requests)
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
    assert isinstance(outcome.interruption, error)
    assert len(requests) == tries


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
        outcome = await wait_for_prediction(
            client_for(job.handler),
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
