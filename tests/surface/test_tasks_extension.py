"""edit_image as a task in the 2026-07-28 tasks extension (SEP-2663): raw JSON-RPC built from the extension's own
schema, over streamable HTTP to our server on loopback, against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from fakes import API_KEY
from http_harness import AUTH, SECURED, http_server, settings_for
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from task_wire import RawHost, call_tool, cancel_task, check, get_task, request, update_task

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
EDIT = {"prompt": "add a red umbrella", "image": "https://example.com/street.jpg", "size": "640*480"}


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.5)) as running:
        yield running


@pytest.fixture
async def host(emulator: RunningEmulator, tmp_path: Path) -> AsyncIterator[RawHost]:
    async with (
        http_server(settings_for(emulator, tmp_path), SECURED) as url,
        httpx.AsyncClient(headers=AUTH, timeout=60) as http,
    ):
        yield RawHost(http, url)


async def poll_until_ended(host: RawHost, task_id: str) -> dict[str, Any]:
    """tasks/get at the interval the server suggests, until the task is no longer working."""
    with anyio.fail_after(60):
        while True:
            answer = await host.send(get_task(task_id))
            task = check("GetTaskResult", answer["result"])
            if task["status"] != "working":
                return task
            await anyio.sleep(task["pollIntervalMs"] / 1000)


def submits(emulator: RunningEmulator) -> int:
    log = emulator.state.request_log()
    return sum(1 for e in log if e["method"] == "POST" and e["path"].startswith("/api/v3/wavespeed-ai/qwen-image/"))


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result["content"])


async def test_an_edit_becomes_a_task_whose_get_inlines_the_call_result(
    host: RawHost, emulator: RunningEmulator
) -> None:
    created = check("CreateTaskResult", (await host.send(call_tool("edit_image", EDIT)))["result"])
    assert created["status"] == "working"
    assert created["ttlMs"] == 24 * 3600 * 1000  # the default: the extension lets the server choose
    assert 500 <= created["pollIntervalMs"] <= 5000
    ended = await poll_until_ended(host, created["taskId"])
    assert ended["status"] == "completed"
    result = ended["result"]
    assert result["structuredContent"]["prediction_id"] == created["taskId"]
    assert result["structuredContent"]["status"] == "completed"
    # A host that did not declare the extension gets the plain result: the same report and kinds of content.
    plain = (await host.send(call_tool("edit_image", EDIT, declare=False)))["result"]
    assert plain["resultType"] == "complete"
    assert plain["structuredContent"].keys() == result["structuredContent"].keys()
    assert [b["type"] for b in plain["content"]] == [b["type"] for b in result["content"]]
    assert submits(emulator) == 2


async def test_task_methods_keep_the_extensions_rules(host: RawHost) -> None:
    created = check("CreateTaskResult", (await host.send(call_tool("edit_image", EDIT)))["result"])
    task_id = created["taskId"]
    undeclared = await host.send(get_task(task_id, declare=False))
    assert undeclared["error"]["code"] == -32021
    assert undeclared["error"]["data"] == {
        "requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
    }
    misrouted = await host.send(get_task(task_id), name="another-task")
    assert misrouted["error"]["code"] == -32020
    unknown = await host.send(get_task("no-such-task"))
    assert unknown["error"]["code"] == -32602
    assert (await host.send(get_task("x" * 10_000)))["error"]["code"] == -32602  # refused before any look-up
    for gone in ("tasks/result", "tasks/list"):  # 2025-11-25's, not the extension's
        answer = await host.send(request(gone, {"taskId": task_id}))
        assert answer["error"]["code"] == -32601, gone
    await poll_until_ended(host, task_id)


async def test_a_failed_job_is_a_completed_task_whose_result_is_the_error(
    host: RawHost, emulator: RunningEmulator
) -> None:
    emulator.state.update_faults({"fail_count": 1, "fail_message": "the prompt was refused by the safety checker"})
    created = check("CreateTaskResult", (await host.send(call_tool("edit_image", EDIT)))["result"])
    ended = await poll_until_ended(host, created["taskId"])
    # The extension keeps `failed` for JSON-RPC errors: a tool result with isError is a completed task.
    assert ended["status"] == "completed"
    assert ended["result"]["isError"] is True
    assert "refused by the safety checker" in text_of(ended["result"])
    assert created["taskId"] in ended["statusMessage"]
    assert "refused by the safety checker" in ended["statusMessage"]


async def test_cancel_is_acknowledged_and_the_task_says_the_job_runs_on(
    host: RawHost, emulator: RunningEmulator
) -> None:
    emulator.state.update_faults({"latency": 1.5})
    created = check("CreateTaskResult", (await host.send(call_tool("edit_image", EDIT)))["result"])
    task_id = created["taskId"]
    check("UpdateTaskResult", (await host.send(update_task(task_id)))["result"])
    check("CancelTaskResult", (await host.send(cancel_task(task_id)))["result"])
    cancelled = check("GetTaskResult", (await host.send(get_task(task_id)))["result"])
    assert cancelled["status"] == "cancelled"
    assert "no way to cancel a prediction" in cancelled["statusMessage"]
    assert "may still be charged" in cancelled["statusMessage"]
    check("CancelTaskResult", (await host.send(cancel_task(task_id)))["result"])  # again: still acknowledged
    assert submits(emulator) == 1


async def test_a_refused_edit_is_a_plain_error_and_no_task(host: RawHost, emulator: RunningEmulator) -> None:
    refused = await host.send(call_tool("edit_image", {**EDIT, "image": "/nowhere/picture.png"}))
    assert refused["result"]["resultType"] == "complete"
    assert refused["result"]["isError"] is True
    assert "taskId" not in refused["result"]
    assert submits(emulator) == 0


async def test_a_submit_of_unknown_outcome_is_a_task_that_says_a_job_may_exist(
    host: RawHost, emulator: RunningEmulator
) -> None:
    emulator.state.update_faults({"submit_error_status": 502, "submit_error_count": 1})
    created = check("CreateTaskResult", (await host.send(call_tool("edit_image", EDIT)))["result"])
    assert created["taskId"].startswith("unknown-")
    ended = await poll_until_ended(host, created["taskId"])
    assert ended["result"]["isError"] is True
    assert "may or may not have been created" in text_of(ended["result"])
    assert submits(emulator) == 1
