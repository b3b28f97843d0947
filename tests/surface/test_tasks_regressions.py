"""edit_image as a task when things go wrong: hostile params, a call cancelled or a store failing between the
submits' answers and the task, reused ids, the 2026 routing header. Each test here failed before its fix (found by
attacking the change); the 2025-11-25 form is driven in process with raw requests, the SDK knowing nothing of `task`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from fakes import FakeClock
from harness import World, make_world
from http_harness import AUTH, SECURED, http_server, settings_for
from qwen_image_edit_mcp.emulator import RunningEmulator
from qwen_image_edit_mcp.jobs.background import Background, LocalRun
from qwen_image_edit_mcp.state.sqlite_tasks import SqliteTasks
from qwen_image_edit_mcp.state.store import StoreUnavailable
from task_wire import RawHost, call_tool, check, get_task, last_message

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg"}
HUGE_TTL = 10**400  # a JSON integer: valid for the SDK's `ttl: int`, too big for a float


async def raw(client: Client, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A request as it goes on the 2025-11-25 wire (the SDK's typed helpers know nothing of `task`)."""
    return await client.session._dispatcher.send_raw_request(method, params, {})  # pyright: ignore[reportPrivateUsage]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[LocalRun]:
    """Every background run started, to see whether each one ends."""
    started: list[LocalRun] = []
    original = Background.start

    def start(self: Background, run: LocalRun, work: Any) -> None:
        started.append(run)
        original(self, run, work)

    monkeypatch.setattr(Background, "start", start)
    return started


def prediction_ids(world: World) -> list[str]:
    return list(world.emulator.predictions)


async def ends_within(run: LocalRun, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        await run.ended.wait()
    return run.ended.is_set()


# --- a `ttl` the middleware accepted but `task_ttl_seconds` could not turn into a float ------------------------------


class LegacyHttp:
    """A 2025-11-25 session over streamable HTTP, one raw JSON body at a time (so any JSON number can be sent)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self._http, self._url, self._session = http, f"{url}/mcp", ""

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **AUTH}
        if self._session:
            headers |= {"Mcp-Session-Id": self._session, "MCP-Protocol-Version": "2025-11-25"}
        return headers

    async def open(self) -> None:
        hello = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        answer = await self._http.post(self._url, json=hello, headers=self._headers())
        self._session = answer.headers["mcp-session-id"]
        assert last_message(answer)["result"]["protocolVersion"] == "2025-11-25"
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self._http.post(self._url, json=done, headers=self._headers())

    async def send_text(self, body: str) -> dict[str, Any]:
        answer = await self._http.post(self._url, content=body.encode(), headers=self._headers())
        return last_message(answer)


async def test_a_huge_task_ttl_over_http_is_held_to_seven_days_and_the_task_carries_the_id(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """Was: task_ttl_seconds(10**400) raised OverflowError after the submit, and the paid job's id was lost."""
    async with (
        http_server(settings_for(emulator, tmp_path), SECURED) as url,
        httpx.AsyncClient(timeout=20) as http,
    ):
        host = LegacyHttp(http, url)
        await host.open()
        arguments = json.dumps({**EDIT, "size": "640*480"})
        body = (
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"edit_image","arguments":'
            + arguments
            + ',"task":{"ttl":'
            + str(HUGE_TTL)
            + "}}}"
        )
        answer = await host.send_text(body)
        paid = list(emulator.state.predictions)
    assert len(paid) == 1, "the edit was submitted (and will be charged)"
    # Whatever the server made of the ttl, the caller must learn the id of the job it pays for.
    assert paid[0] in json.dumps(answer), f"the prediction id never reached the caller: {answer}"
    assert answer["result"]["task"]["ttl"] == 7 * 24 * 3600 * 1000


async def test_a_huge_task_ttl_makes_a_task_whose_run_ends(
    clock: FakeClock, tmp_path: Path, runs: list[LocalRun]
) -> None:
    """Was: the same OverflowError skipped launch.decide(), and the run waited on it for ever."""
    world = make_world(clock, tmp_path)
    async with Client(world.server, mode="legacy") as client:
        answer = await raw(client, "tools/call", {"name": "edit_image", "arguments": EDIT, "task": {"ttl": HUGE_TTL}})
        (run,) = runs
        ended = await ends_within(run, 3.0)
    assert len(world.submits()) == 1
    assert answer["task"]["taskId"] == prediction_ids(world)[0]
    assert ended, f"the background run {run.task_id} never ended (last: {run.message})"


# --- the call cancelled (or failing) between the submits' answers and the task's creation ----------------------------


async def test_a_call_cancelled_while_its_task_is_kept_still_leaves_a_listed_task_that_ends(
    clock: FakeClock, tmp_path: Path, runs: list[LocalRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: a cancellation landing in launch._decide (while the task book's `add` ran; a dropped HTTP POST does the
    same) skipped launch.decide(), and the run waited for ever. Now the write is finished, shielded and bounded, so
    the job's task is listed (its caller is gone) and settles."""
    world = make_world(clock, tmp_path)
    adding, go_on = anyio.Event(), anyio.Event()
    cancelled_in_add: list[bool] = []
    original = SqliteTasks.add

    async def slow_add(self: SqliteTasks, record: Any) -> bool:
        adding.set()
        try:
            await go_on.wait()  # a store taking its time, until the host has given up on the call
        except BaseException:
            cancelled_in_add.append(True)
            raise
        return await original(self, record)

    monkeypatch.setattr(SqliteTasks, "add", slow_add)
    async with Client(world.server, mode="legacy") as client:
        async with anyio.create_task_group() as group:
            group.start_soon(raw, client, "tools/call", {"name": "edit_image", "arguments": EDIT, "task": {}})
            await adding.wait()
            group.cancel_scope.cancel()  # the host gives up on the call: notifications/cancelled
        go_on.set()
        (run,) = runs
        ended = await ends_within(run, 3.0)
        listed = await raw(client, "tasks/list", {})
    assert cancelled_in_add == []
    assert len(world.submits()) == 1
    assert ended, f"the background run {run.task_id} never ended (last: {run.message})"
    (task,) = listed["tasks"]
    assert (task["taskId"], task["status"]) == (prediction_ids(world)[0], "completed")


async def test_an_infinite_task_ttl_is_an_invalid_params_error_not_an_internal_crash(
    clock: FakeClock, tmp_path: Path
) -> None:
    """Was: int(inf) in calls._asked, answered with code 0 and Python's own words."""
    world = make_world(clock, tmp_path)
    async with Client(world.server, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await raw(client, "tools/call", {"name": "edit_image", "arguments": EDIT, "task": {"ttl": float("inf")}})
    assert world.submits() == []
    assert caught.value.error.code == -32602, caught.value.error


async def test_a_deeply_nested_tasks_list_cursor_is_an_invalid_cursor_error(clock: FakeClock, tmp_path: Path) -> None:
    """Was: the RecursionError json.loads raises on a nested array, answered with code 0."""
    world = make_world(clock, tmp_path)
    hostile = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    async with Client(world.server, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await raw(client, "tasks/list", {"cursor": hostile})
    assert caught.value.error.code == -32602, caught.value.error
    assert "Invalid tasks/list cursor" in caught.value.error.message


# --- the 2026 Mcp-Name rule, over HTTP --------------------------------------------------------------------------------


@pytest.fixture
async def modern(emulator: RunningEmulator, tmp_path: Path) -> AsyncIterator[tuple[RawHost, httpx.AsyncClient, str]]:
    async with (
        http_server(settings_for(emulator, tmp_path), SECURED) as url,
        httpx.AsyncClient(headers=AUTH, timeout=20) as http,
    ):
        yield RawHost(http, url), http, url


async def test_extension_task_methods_refuse_a_request_without_the_mcp_name_header(
    modern: tuple[RawHost, httpx.AsyncClient, str],
) -> None:
    """Was: Mcp-Name compared only when present (the SDK's own rule for name-bearing methods: absent == mismatch)."""
    host, http, url = modern
    created = check(
        "CreateTaskResult", (await host.send(call_tool("edit_image", {**EDIT, "size": "640*480"})))["result"]
    )
    message = get_task(created["taskId"])
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tasks/get",
    }
    answer = last_message(await http.post(f"{url}/mcp", json=message, headers=headers))
    assert "error" in answer, answer
    assert answer["error"]["code"] == -32020


# --- guards ---------------------------------------------------------------------------------------------------------


async def test_cancel_after_the_run_settled_does_not_change_the_task(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server, mode="legacy") as client:
        created = await raw(client, "tools/call", {"name": "edit_image", "arguments": EDIT, "task": {}})
        task_id = created["task"]["taskId"]
        result = await raw(client, "tasks/result", {"taskId": task_id})
        with pytest.raises(MCPError) as refused:
            await raw(client, "tasks/cancel", {"taskId": task_id})
        status = await raw(client, "tasks/get", {"taskId": task_id})
    assert "already in terminal status 'completed'" in refused.value.error.message
    assert status["status"] == "completed"
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
    assert len(world.submits()) == 1


async def test_a_task_augmented_call_in_sync_mode_is_a_plain_call_with_one_submit(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server, mode="legacy") as client:
        arguments = {**EDIT, "enable_sync_mode": True, "wait_seconds": 30}
        answer = await raw(client, "tools/call", {"name": "edit_image", "arguments": arguments, "task": {}})
        listed = await raw(client, "tasks/list", {})
    assert "task" not in answer
    assert answer["structuredContent"]["status"] == "completed"
    assert listed["tasks"] == []
    assert len(world.submits()) == 1


async def test_another_tools_task_call_is_refused_before_anything_is_paid(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server, mode="legacy") as client:
        with pytest.raises(MCPError) as refused:
            await raw(client, "tools/call", {"name": "get_prediction", "arguments": {"prediction_id": "x"}, "task": {}})
        listed = await raw(client, "tasks/list", {})
    assert refused.value.error.code == -32601
    assert listed["tasks"] == []
    assert world.submits() == []


async def _unexpected(self: SqliteTasks, record: Any) -> bool:
    raise RuntimeError("unexpected failure in the task book")  # was: only the two expected errors fell back


async def _unavailable(self: SqliteTasks, record: Any) -> bool:
    raise StoreUnavailable("the task book is down")


async def _taken(self: SqliteTasks, record: Any) -> bool:
    return False  # a live task has this id already (an id given twice upstream): it is never overwritten


@pytest.mark.parametrize("add", [_unexpected, _unavailable, _taken], ids=["unexpected error", "unavailable", "taken"])
async def test_a_task_that_cannot_be_kept_leaves_a_plain_answer_with_the_prediction_id(
    clock: FakeClock, tmp_path: Path, runs: list[LocalRun], monkeypatch: pytest.MonkeyPatch, add: Any
) -> None:
    world = make_world(clock, tmp_path)
    monkeypatch.setattr(SqliteTasks, "add", add)
    async with Client(world.server, mode="legacy") as client:
        answer = await raw(client, "tools/call", {"name": "edit_image", "arguments": EDIT, "task": {}})
        (run,) = runs
        ended = await ends_within(run, 3.0)
    (paid,) = prediction_ids(world)
    assert "task" not in answer
    assert paid in json.dumps(answer)
    assert ended
    assert len(world.submits()) == 1
