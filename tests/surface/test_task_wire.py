"""A task's wire shapes in both forms, its TTL and poll interval, and tasks/list's pages (over a real SQLite store)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from mcp.shared.exceptions import MCPError

from qwen_image_edit_mcp.jobs.runtime import Runtime
from qwen_image_edit_mcp.jobs.schedule import FinishWindow
from qwen_image_edit_mcp.state.store import open_store
from qwen_image_edit_mcp.state.tasks import TaskJob, TaskRecord, task_ttl_seconds
from qwen_image_edit_mcp.surface.tasks.desk import TaskDesk, cancelled_message
from qwen_image_edit_mcp.surface.tasks.wire import iso, poll_interval_ms, task_2025, task_extension

pytestmark = pytest.mark.anyio
NOW = 1_790_000_000.0


def record(task_id: str = "p1", *, at: float = NOW, **changes: Any) -> TaskRecord:
    job = TaskJob(prediction_id=task_id, seed=1, cost_usd=Decimal("0.02"))
    fields: dict[str, Any] = {
        "task_id": task_id,
        "scope": "local",
        "created_at": at,
        "updated_at": at,
        "ttl_seconds": 3600.0,
        "model_id": "wavespeed-ai/qwen-image/edit",
        "jobs": [job],
    }
    return TaskRecord.model_validate({**fields, **changes})


def test_a_ttl_asked_is_held_between_an_hour_and_seven_days() -> None:
    assert task_ttl_seconds(None) == 24 * 3600
    assert task_ttl_seconds(60_000) == 3600  # fastmcp's default minute: a paid job's record is kept an hour
    assert task_ttl_seconds(2 * 86_400_000) == 2 * 86_400
    assert task_ttl_seconds(30 * 86_400_000) == 7 * 86_400


def test_the_poll_interval_follows_the_learned_schedule_within_what_a_host_should_do() -> None:
    assert poll_interval_ms(0.0, None) == 1000  # the first look at 1 s
    assert poll_interval_ms(20.0, None) == 1000
    assert poll_interval_ms(2.9, FinishWindow(3.0, 3.2)) == 500  # dense across the window, but never below 0.5 s
    assert poll_interval_ms(0.0, FinishWindow(60.0, 61.0)) == 5000  # a long wait ahead: every 5 s


def test_a_working_task_in_both_forms() -> None:
    working = record(status_message="submitted")
    assert task_2025(working, 750) == {
        "taskId": "p1",
        "status": "working",
        "statusMessage": "submitted",
        "createdAt": iso(NOW),
        "lastUpdatedAt": iso(NOW),
        "ttl": 3_600_000,
        "pollInterval": 750,
    }
    assert task_extension(working, 750, detailed=True) == {
        "taskId": "p1",
        "status": "working",
        "statusMessage": "submitted",
        "createdAt": iso(NOW),
        "lastUpdatedAt": iso(NOW),
        "ttlMs": 3_600_000,
        "pollIntervalMs": 750,
    }
    assert iso(NOW).endswith("Z")


def test_an_error_result_is_failed_in_2025_and_completed_with_the_result_in_the_extension() -> None:
    result = {"content": [{"type": "text", "text": "The edit failed"}], "isError": True}
    failed = record(status="failed", status_message="The edit failed", result=result)
    assert task_2025(failed, 750)["status"] == "failed"
    assert "pollInterval" not in task_2025(failed, 750)  # nothing more to poll for
    extension = task_extension(failed, 750, detailed=True)
    assert (extension["status"], extension["result"]) == ("completed", result)
    assert "result" not in task_extension(failed, 750, detailed=False)


def test_a_cancelled_task_says_the_job_runs_on_and_names_it() -> None:
    message = cancelled_message(record("pred-9"))
    assert "no way to cancel a prediction" in message
    assert "pred-9" in message
    assert "may still be charged (up to $0.02)" in message
    unknown = record("unknown-1", jobs=[TaskJob(prediction_id=None, seed=1, cost_usd=Decimal("0.02"))])
    assert "any job the submit may have created" in cancelled_message(unknown)


async def test_tasks_list_pages_newest_first_and_refuses_a_cursor_it_did_not_give(tmp_path: Path) -> None:
    store = open_store(None, tmp_path, wall_clock=lambda: NOW + 10)
    await store.open()
    try:
        for index in range(25):
            await store.tasks.add(record(f"p{index:02d}", at=NOW + index % 5))  # ties, five at each moment
        runtime = cast(Runtime, SimpleNamespace(store=store))
        desk = TaskDesk()
        first, cursor = await desk.page(runtime, "local", None)
        assert cursor is not None
        assert len(first) == 20
        second, end = await desk.page(runtime, "local", cursor)
        assert end is None
        assert len(second) == 5
        listed = [(task.created_at, task.task_id) for task in first + second]
        assert listed == sorted(listed, reverse=True)
        assert len(set(listed)) == 25
        assert await desk.page(runtime, "bearer:someone-else", None) == ([], None)
        with pytest.raises(MCPError, match="Invalid tasks/list cursor"):
            await desk.page(runtime, "local", "bm90LWEtY3Vyc29y")
    finally:
        await store.aclose()
