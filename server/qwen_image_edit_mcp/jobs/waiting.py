"""When to ask WaveSpeed again: the pure schedules, and the thin loops that follow them.

Everything that decides a delay is a pure function of elapsed time or attempt count, unit-tested without sleeping;
the loops take the clock as a parameter. Rules:

- A submit is sent once. Only a refusal that proves nothing was created (429, or a connection that never opened) is
  sent again, a bounded number of times, honouring Retry-After. A submit whose outcome is unknown never is.
- Polls are reads: on 429, 5xx, gateway pages and network errors they back off and retry, a bounded number of
  consecutive times.
- Every wait ends at its deadline; what is known then (the prediction id above all) goes back to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from ..clock import Clock
from ..errors import ConnectionFailedError, RateLimitError, UnexpectedResponseError, WaveSpeedError
from ..models import Prediction
from ..upstream.protocol import Upstream
from ..upstream.types import RunRequest
from .schedule import DurationHistory, PollSchedule

log = logging.getLogger(__name__)

SUBMIT_RETRIES = 3
POLL_RETRIES = 6
POLL_GRACE = 5.0  # how far past the deadline a poll already under way may run
MAX_RETRY_AFTER = 10.0


def retry_delay(attempt: int, retry_after: float | None = None, *, base: float = 0.5, cap: float = 4.0) -> float:
    """Backoff before retry number `attempt` (1-based): exponential from `base`, capped; Retry-After wins, bounded."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
    return min(base * 2 ** (attempt - 1), cap)


ProgressFn = Callable[[str], Awaitable[None]]


async def submit_once(
    client: Upstream,
    request: RunRequest,
    *,
    clock: Clock,
    deadline: float,
    answer_by: float | None = None,
) -> Prediction:
    """Send the edit. Retries only what provably created nothing; raises the last error otherwise.

    `deadline` is when this call stops waiting for the job; `answer_by` (a little later; the deadline if not given)
    is when it must have answered, so no single request may run past it, however the network behaves.

    An async submit is one quick request, and it is shielded from cancellation: a cancel that arrives while it is
    in flight waits for the answer, so a job that now exists is never left without anyone knowing its id. The
    backoff between retries is not shielded (nothing exists yet), and neither is a sync-mode request, which blocks
    until the image is ready and must stay cancellable.
    """
    attempt = 0
    answer_by = deadline if answer_by is None else answer_by
    while True:
        # A sync-mode request blocks until the job is done: let it run until this call's deadline, no longer.
        end = deadline if request.sync else min(answer_by, clock.now() + client.request_timeout)
        timeout = max(end - clock.now(), 1.0)
        try:
            with anyio.CancelScope(shield=not request.sync):
                return await _within(client.submit(request, timeout=timeout), timeout)
        except WaveSpeedError as exc:
            if not exc.may_resend:  # decided where the answer was read (errors.py): never resend an unknown outcome
                raise
            attempt += 1
            delay = retry_delay(attempt, exc.retry_after if isinstance(exc, RateLimitError) else None)
            if attempt > SUBMIT_RETRIES or clock.now() + delay > deadline:
                raise
            log.info("submit not accepted (%s); nothing was created, retry %d in %.2f s", exc, attempt, delay)
            await clock.sleep(delay)


async def _within(request: Awaitable[Prediction], seconds: float) -> Prediction:
    """The request's answer, or ConnectionFailedError once `seconds` have passed (a body trickling in included)."""
    try:
        with anyio.fail_after(seconds):
            return await request
    except TimeoutError:
        raise ConnectionFailedError(f"WaveSpeed did not answer within {seconds:.0f} s.", request_sent=True) from None


def _same_job(asked: Prediction, answered: Prediction) -> None:
    if answered.id != asked.id:
        # An answer about another job is no answer about this one: the submitted id stays, and the poll is retried.
        raise UnexpectedResponseError(
            f"WaveSpeed answered a poll for prediction {asked.id} with another prediction's id ({answered.id[:40]})."
        )


async def read_prediction(client: Upstream, prediction_id: str, *, clock: Clock, retry_until: float) -> Prediction:
    """One look at a prediction, retrying transient failures (bounded, and not past `retry_until`)."""
    attempt = 0
    while True:
        try:
            read = await _within(client.get_result(prediction_id), max(retry_until - clock.now(), 1.0))
            _same_job(Prediction(id=prediction_id), read)
        except WaveSpeedError as exc:
            attempt += 1
            delay = retry_delay(attempt, exc.retry_after if isinstance(exc, RateLimitError) else None)
            if not exc.retryable or attempt > POLL_RETRIES or clock.now() + delay > retry_until:
                raise
            log.info("reading prediction %s failed (%s); retry %d in %.2f s", prediction_id, exc, attempt, delay)
            await clock.sleep(delay)
        else:
            return read


@dataclass(frozen=True)
class WaitOutcome:
    prediction: Prediction  # the last state seen: terminal, or still running
    polls: int
    timed_out: bool  # the deadline came first
    interruption: WaveSpeedError | None = None  # polling gave up; the job may still be running

    @property
    def pending(self) -> bool:
        return not self.prediction.is_terminal


async def wait_for_prediction(
    client: Upstream,
    prediction: Prediction,
    *,
    clock: Clock,
    deadline: float,
    started: float,
    on_progress: ProgressFn,
    schedule: PollSchedule | None = None,
    history: DurationHistory | None = None,
) -> WaitOutcome:
    """Poll until the prediction is terminal, the deadline passes, or WaveSpeed stays unreachable.

    `started` is when the job began (the submit), which the schedule measures age from. With a `history`, the
    schedule follows when recent jobs finished, and this job's finish is added to it. Never raises a
    WaveSpeedError: whatever happens, the caller gets the prediction id back inside the outcome.
    """
    schedule = schedule or PollSchedule()
    window = history.window() if history is not None else None
    current, polls, failures = prediction, 0, 0
    retry_after: float | None = None
    last_pending_age: float | None = None
    while not current.is_terminal:
        remaining = deadline - clock.now()
        if remaining <= 0:
            return WaitOutcome(current, polls, timed_out=True)
        delay = retry_delay(failures, retry_after) if failures else schedule.delay(clock.now() - started, window)
        await clock.sleep(min(delay, remaining))
        polls += 1
        try:
            # A poll may not hold the call much past its deadline, however slowly an answer trickles in.
            latest = await _within(client.get_result(current.id), max(deadline + POLL_GRACE - clock.now(), 1.0))
            _same_job(current, latest)
        except WaveSpeedError as exc:
            failures += 1
            if not exc.retryable or failures > POLL_RETRIES:
                return WaitOutcome(current, polls, timed_out=False, interruption=exc)
            retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
            log.info("poll %d for prediction %s failed (%s); retry %d", polls, current.id, exc, failures)
            await on_progress(f"WaveSpeed did not answer cleanly ({exc.message}); retrying")
            continue
        failures, retry_after = 0, None
        changed = latest.status != current.status
        current = latest
        age = clock.now() - started
        if not current.is_terminal:
            last_pending_age = age
        elif current.succeeded and history is not None:
            inference = (current.timings or {}).get("inference")
            history.record(
                last_pending_age=last_pending_age,
                done_age=age,
                inference_seconds=inference / 1000 if inference else None,
            )
        await on_progress(f"prediction {current.id}: {current.status}" + ("" if changed else f" ({age:.1f} s)"))
    return WaitOutcome(current, polls, timed_out=False)
