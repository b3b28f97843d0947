"""edit_image as an MCP task (2025-11-25), driven by a real task-capable host: FastMCP's client, over stdio and
streamable HTTP, against our server as its own process and the emulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fakes import API_KEY
from http_harness import TOKEN, free_port
from masked_pictures import FEATHER, check_pixels, mask_file, photo
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from redis_server import running_redis
from stdio_harness import server_env
from task_host import drive, http_replica, http_session, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]
EDIT = {"prompt": "add a red umbrella", "image": "https://example.com/street.jpg", "size": "640*480"}
RELATED = "io.modelcontextprotocol/related-task"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.5)) as running:
        yield running


def submits(emulator: RunningEmulator) -> int:
    log = emulator.state.request_log()
    return sum(1 for e in log if e["method"] == "POST" and e["path"].startswith("/api/v3/wavespeed-ai/qwen-image/"))


def texts(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result.get("content", []))


async def test_edits_run_as_tasks_completed_masked_variations_failed_and_of_unknown_outcome(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = photo(tmp_path)
    masked = {"prompt": "invert it", "image": str(source), "mask": mask_file(tmp_path), "feather": FEATHER}
    refused = "the prompt was refused by the safety checker"
    steps = [
        {"do": "tools"},
        {"do": "call", "name": "edit_image", "arguments": EDIT, "progress_token": "edit-1", "ttl": 120_000},
        {"do": "status", "task": "$1"},
        {"do": "result", "task": "$1"},
        {"do": "status", "task": "$1"},
        {"do": "plain", "name": "edit_image", "arguments": EDIT},  # 5
        {"do": "call", "name": "edit_image", "arguments": masked},
        {"do": "result", "task": "$6"},
        {"do": "call", "name": "edit_image", "arguments": {**EDIT, "variations": 2, "seed": 7}},
        {"do": "result", "task": "$8"},
        {"do": "faults", "url": emulator.base_url, "set": {"fail_count": 1, "fail_message": refused}},  # 10
        {"do": "call", "name": "edit_image", "arguments": EDIT},
        {"do": "result", "task": "$11"},
        {"do": "status", "task": "$11"},
        {"do": "faults", "url": emulator.base_url, "set": {"submit_error_status": 502, "submit_error_count": 1}},
        {"do": "call", "name": "edit_image", "arguments": EDIT},  # 15
        {"do": "result", "task": "$15"},
        {"do": "status", "task": "$15"},
        {"do": "list"},
        {"do": "list", "cursor": "not-a-cursor-we-gave"},
    ]
    seen = await drive(stdio_session(server_env(emulator, tmp_path), steps))
    outcomes = seen["outcomes"]
    tools, call, working, result, ended, plain = outcomes[:6]
    assert tools["tools"]["edit_image"] == {"taskSupport": "optional"}
    assert [name for name, execution in tools["tools"].items() if execution] == ["edit_image"]
    assert call["immediate"] is False
    task_id = call["task_id"]
    assert working["status"] in ("working", "completed")
    assert working["ttl"] == 3_600_000  # 2 minutes asked, an hour given: a paid job's record is kept that long
    assert ended["status"] == "completed"
    assert task_id in ended["statusMessage"]
    # The result is the call's: the same report, fields and kinds of content as the plain call's.
    answer = result["result"]
    assert answer["_meta"][RELATED] == {"taskId": task_id}
    assert answer["structuredContent"]["prediction_id"] == task_id
    assert answer["structuredContent"]["status"] == "completed"
    assert answer["structuredContent"].keys() == plain["structured"].keys()
    assert [block["type"] for block in answer["content"]] == [block["type"] for block in plain["content"]]
    assert "Edit completed" in texts(answer)
    # Progress after the task was created carries its id, on the call's own token.
    related = [p for p in seen["sessions"][0]["progress"] if p.get("_meta", {}).get(RELATED)]
    assert related
    assert all(p["progressToken"] == "edit-1" and p["_meta"][RELATED] == {"taskId": task_id} for p in related)

    # A masked edit's task ends once the composite is made: the input outside the mask, bit for bit.
    report = outcomes[7]["result"]["structuredContent"]
    assert (report["status"], report["masked"], report["prediction_id"]) == ("completed", True, outcomes[6]["task_id"])
    (saved,) = report["saved_paths"]
    check_pixels(Path(saved), source)

    # Variations are one task, known by the first job's id; its result lists each.
    rows = outcomes[9]["result"]["structuredContent"]["variations"]
    assert [row["seed"] for row in rows] == [7, 8]
    assert all(row["status"] == "completed" for row in rows)
    assert rows[0]["prediction_id"] == outcomes[8]["task_id"]

    # A job that failed at WaveSpeed: a failed task, with the reason and the id; its result is the error.
    failed_call, failed_result, failed = outcomes[11:14]
    assert failed["status"] == "failed"
    assert refused in failed["statusMessage"]
    assert failed_call["task_id"] in failed["statusMessage"]
    assert failed_result["result"]["isError"] is True
    assert refused in texts(failed_result["result"])

    # A submit of unknown outcome: a task, never a resubmit, that says a job may exist and how to find it.
    unknown_call, unknown_result, unknown = outcomes[15:18]
    assert unknown_call["immediate"] is False
    assert unknown_call["task_id"].startswith("unknown-")
    assert unknown["status"] == "failed"
    assert "may or may not have been created" in unknown["statusMessage"]
    assert unknown_result["result"]["isError"] is True
    assert "list_predictions" in texts(unknown_result["result"])

    listed, bad_cursor = outcomes[18:20]
    made = [call["task_id"], outcomes[6]["task_id"], outcomes[8]["task_id"], failed_call["task_id"]]
    assert [task["taskId"] for task in listed["tasks"]] == [unknown_call["task_id"], *reversed(made)]  # newest first
    assert "Invalid tasks/list cursor" in bad_cursor["message"]
    # One submit each: the task's, the plain call's, the masked one's, two variations, the failed and the unknown one.
    assert submits(emulator) == 7


async def test_a_masked_task_outlives_the_server_that_created_it(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.state.update_faults({"latency": 3.0})  # still running when the first server is gone
    env = server_env(emulator, tmp_path)
    source = photo(tmp_path)
    arguments = {"prompt": "invert it", "image": str(source), "mask": mask_file(tmp_path), "feather": FEATHER}
    first = stdio_session(env, [{"do": "call", "name": "edit_image", "arguments": arguments}])
    second = stdio_session(env, [{"do": "status", "task": "$0"}, {"do": "result", "task": "$0"}, {"do": "list"}])
    seen = await drive(first, second)
    call, status, result, listed = seen["outcomes"]
    assert status["status"] in ("working", "completed")
    report = result["result"]["structuredContent"]
    assert (report["status"], report["prediction_id"], report["masked"]) == ("completed", call["task_id"], True)
    # The second process made the composite from what the journal kept of the first one's call.
    (saved,) = report["saved_paths"]
    check_pixels(Path(saved), source)
    assert [task["taskId"] for task in listed["tasks"]] == [call["task_id"]]
    assert submits(emulator) == 1


async def test_cancel_stops_following_and_says_the_job_runs_on(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.state.update_faults({"latency": 2.0})
    steps = [
        {"do": "call", "name": "edit_image", "arguments": EDIT},
        {"do": "cancel", "task": "$0"},
        {"do": "result", "task": "$0"},
        {"do": "cancel", "task": "$0"},
        {"do": "plain", "name": "get_prediction", "arguments": {"prediction_id": "$0", "wait_seconds": 30}},
        {"do": "status", "task": "$0"},
    ]
    seen = await drive(stdio_session(server_env(emulator, tmp_path), steps))
    call, cancelled, result, again, job, status = seen["outcomes"]
    assert cancelled["status"] == "cancelled"
    assert "no way to cancel a prediction" in cancelled["statusMessage"]
    assert "may still be charged" in cancelled["statusMessage"]
    assert call["task_id"] in cancelled["statusMessage"]
    assert "error" in result  # a cancelled task has no result
    assert "already in terminal status" in again["message"]
    assert job["structured"]["status"] == "completed"  # the job ran on at WaveSpeed
    assert status["status"] == "cancelled"  # and the task stays cancelled
    assert submits(emulator) == 1


async def test_a_refused_or_declined_edit_is_a_plain_answer_and_no_task(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    refused = {**EDIT, "image": str(tmp_path / "not-there.png")}
    steps = [
        {"do": "call", "name": "edit_image", "arguments": refused},
        {"do": "call", "name": "edit_image", "arguments": EDIT},
        {"do": "call", "name": "get_prediction", "arguments": {"prediction_id": "abc"}},
        {"do": "list"},
    ]
    env = server_env(emulator, tmp_path, QWEN_EDIT_CONFIRM_SPEND="always")
    seen = await drive(stdio_session(env, steps, answer="decline"))
    bad, declined, other_tool, listed = seen["outcomes"]
    assert "does not run as a task" in other_tool["message"]  # only edit_image declares task support
    assert bad["immediate"] is True
    assert bad["result"]["is_error"] is True
    assert declined["immediate"] is True
    assert declined["result"]["is_error"] is False
    assert "declined" in texts(declined["result"])
    assert seen["sessions"][0]["asked"]  # the question was asked, once, for the edit that could be paid
    assert listed["tasks"] == []
    assert submits(emulator) == 0


async def test_over_http_a_task_is_its_tokens_and_any_replica_answers_for_it(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.state.update_faults({"latency": 1.5})
    with running_redis(tmp_path) as store_url:

        def env(machine: str, token: str) -> dict[str, str]:
            return {
                **server_env(emulator, tmp_path),
                "QWEN_EDIT_CACHE_DIR": str(tmp_path / machine / "cache"),  # a machine of its own, but for the store
                "QWEN_EDIT_OUTPUT_DIR": str(tmp_path / machine / "outputs"),
                "QWEN_EDIT_STORE_URL": store_url,
                "QWEN_EDIT_AUTH_TOKEN": token,
            }

        other = TOKEN[::-1] + "-other"
        async with (
            http_replica(env("a", TOKEN), free_port()) as a,
            http_replica(env("b", TOKEN), free_port()) as b,
            http_replica(env("c", other), free_port()) as c,
        ):
            seen = await drive(
                http_session(a, TOKEN, [{"do": "call", "name": "edit_image", "arguments": EDIT}]),
                http_session(b, TOKEN, [{"do": "result", "task": "$0"}, {"do": "list"}]),
                http_session(c, other, [{"do": "status", "task": "$0"}, {"do": "list"}]),
            )
    call, result, listed, elsewhere, none = seen["outcomes"]
    assert call["immediate"] is False
    assert result["result"]["structuredContent"]["status"] == "completed"
    assert [task["taskId"] for task in listed["tasks"]] == [call["task_id"]]
    assert "not found" in elsewhere["message"]  # another token's client cannot see it, nor tell it exists
    assert none["tasks"] == []
    assert submits(emulator) == 1


async def test_a_process_that_did_not_start_the_job_reads_it_once_per_poll_interval(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.state.update_faults({"hold": True})  # the job runs until released: the task stays working
    env = server_env(emulator, tmp_path)
    await drive(stdio_session(env, [{"do": "call", "name": "edit_image", "arguments": EDIT}]))
    (task_id,) = [p.id for p in emulator.state.predictions.values()]
    before = reads(emulator)
    seen = await drive(stdio_session(env, [{"do": "status", "task": task_id}] * 6))
    assert all(status["status"] == "working" for status in seen["outcomes"])
    # Six polls in a burst, each one answered: one read at WaveSpeed (two, were the burst to straddle the interval).
    assert 1 <= reads(emulator) - before <= 2


def reads(emulator: RunningEmulator) -> int:
    return sum(1 for e in emulator.state.request_log() if e["method"] == "GET" and e["path"].endswith("/result"))
