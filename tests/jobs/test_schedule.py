"""The poll schedule, driven by a pure simulation: no clock, no sleeping, just ages."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from qwen_image_edit_mcp.jobs.schedule import DurationHistory, FinishWindow, PollSchedule


def run_job(
    duration: float, schedule: PollSchedule, history: DurationHistory | None, *, report_inference: bool = True
) -> tuple[int, float]:
    """Poll one job that finishes at `duration`; returns (polls, how late the finish was seen)."""
    window = history.window() if history is not None else None
    age, polls, last_pending = 0.0, 0, None
    while True:
        age += schedule.delay(age, window)
        polls += 1
        if age >= duration:
            break
        last_pending = age
    if history is not None:
        history.record(
            last_pending_age=last_pending, done_age=age, inference_seconds=duration if report_inference else None
        )
    return polls, age - duration


def run_jobs(durations: list[float], *, report_inference: bool = True) -> list[tuple[int, float]]:
    schedule, history = PollSchedule(), DurationHistory()
    return [run_job(d, schedule, history, report_inference=report_inference) for d in durations]


# --- the default schedule (no history) ---------------------------------------------------------------------


def test_without_history_a_3_second_job_takes_7_polls_and_is_seen_0_11_s_late() -> None:
    polls, late = run_job(3.0, PollSchedule(), None)
    assert polls == 7
    assert late == pytest.approx(0.11, abs=0.01)


@pytest.mark.parametrize("job_seconds", [0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 120.0])
def test_without_history_lateness_stays_under_a_second_and_polls_never_come_faster_than_four_a_second(
    job_seconds: float,
) -> None:
    schedule, age, times = PollSchedule(), 0.0, list[float]()
    while not times or times[-1] < job_seconds:
        age += schedule.delay(age)
        times.append(age)
    assert times[-1] - job_seconds <= 1.0
    assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("age", "delay"),
    [(0.0, 1.0), (0.4, 0.6), (1.0, 0.25), (3.0, 0.6), (60.0, 1.0)],
    ids=["first-poll", "first-delay-waited-out", "dense-start", "growing", "capped"],
)
def test_the_first_poll_waits_out_the_first_delay_and_intervals_grow_then_cap(age: float, delay: float) -> None:
    assert PollSchedule().delay(age) == pytest.approx(delay)


# --- learning ---------------------------------------------------------------------------------------------


def test_steady_3_second_jobs_are_seen_within_0_05_s_in_about_3_polls() -> None:
    outcomes = run_jobs([3.0] * 20)
    polls = [p for p, _ in outcomes]
    lateness = [late for _, late in outcomes]
    assert polls[0] == 7  # the first job knows nothing yet
    assert max(polls[1:]) <= 3
    assert statistics.mean(polls) <= 6
    assert statistics.median(lateness) <= 0.05 + 1e-9


def test_without_inference_timings_it_still_converges_from_the_observed_brackets() -> None:
    outcomes = run_jobs([3.0] * 20, report_inference=False)
    assert statistics.mean(p for p, _ in outcomes) <= 6
    assert max(late for _, late in outcomes[6:]) <= 0.06  # once the wide first bracket has aged out


def test_jobs_that_vary_cost_the_same_few_polls_and_are_seen_a_bounded_time_late() -> None:
    rng = random.Random(7)
    durations = [rng.uniform(2.5, 4.0) for _ in range(200)]
    outcomes = run_jobs(durations)
    assert statistics.mean(p for p, _ in outcomes) <= 6
    assert statistics.median(late for _, late in outcomes) <= 0.4
    assert max(late for _, late in outcomes) <= 1.0


def test_a_job_far_longer_than_usual_falls_back_to_the_default_schedule() -> None:
    schedule, history = PollSchedule(), DurationHistory()
    history.record(last_pending_age=2.95, done_age=3.0, inference_seconds=3.0)
    polls, late = run_job(40.0, schedule, history)
    assert late <= 1.0
    assert polls <= 50


def test_a_job_far_shorter_than_usual_is_still_looked_at_every_few_seconds() -> None:
    schedule, history = PollSchedule(), DurationHistory()
    history.record(last_pending_age=19.9, done_age=20.0, inference_seconds=20.0)
    polls, late = run_job(4.0, schedule, history)
    assert polls == 1  # one look at max_early_sleep on the way to the window
    assert late == pytest.approx(1.0)


def test_the_window_is_covered_in_a_few_polls_however_wide_and_never_denser_than_the_floor() -> None:
    schedule = PollSchedule()
    narrow = FinishWindow(3.0, 3.0)
    wide = FinishWindow(3.0, 9.0)
    assert schedule.delay(2.95, narrow) == schedule.min_step
    assert schedule.delay(5.0, wide) == pytest.approx((9.0 - 3.0 + schedule.lead) / schedule.dense_polls)
    assert schedule.delay(0.0, narrow) == pytest.approx(2.95)
    assert schedule.delay(0.0, FinishWindow(60.0, 60.0)) == schedule.max_early_sleep


def test_history_keeps_the_last_samples_bracketed_by_polls_and_inference_time() -> None:
    history = DurationHistory(size=3)
    assert history.window() is None
    history.record(last_pending_age=2.0, done_age=3.0, inference_seconds=None)  # bracket (2, 3]: 2.5
    history.record(last_pending_age=2.0, done_age=3.0, inference_seconds=2.8)  # inference narrows it to (2.8, 3]: 2.9
    history.record(last_pending_age=None, done_age=1.0, inference_seconds=0.3)  # seen done at once: (0.3, 1]: 0.65
    assert history.window() == FinishWindow(0.65, 2.9)
    history.record(last_pending_age=3.0, done_age=3.2, inference_seconds=None)  # the 2.5 sample ages out
    assert history.window() == pytest.approx(FinishWindow(0.65, 3.1))
