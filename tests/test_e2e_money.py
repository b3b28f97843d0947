"""Money end to end, as a user runs it: the emulator on loopback, the server as a stdio subprocess (or two), the SDK's
client. The balance, the price in results, the spend limit (refusing with zero paid requests, across a restart, under
32 concurrent calls, and shared by two processes through a real redis-server), asking before paying in both
protocol eras and with clients that cannot be asked, and an empty account. The key appears in none of it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import nullcontext
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from fakes import API_KEY
from harness import text_of
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.errors import TOP_UP_URL
from redis_server import PASSWORD, running_redis
from stdio_harness import ServerLog, stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg"}
LORA: dict[str, Any] = {**EDIT, "model": "edit-lora", "loras": []}


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.2, balance=5.0)) as running:
        yield running


def env(emulator: RunningEmulator, cache: Path, **extra: str) -> dict[str, str]:
    return {
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_CACHE_DIR": str(cache),
        "QWEN_EDIT_ALLOWED_DIRS": str(cache),
        **extra,
    }


def submits(emulator: RunningEmulator) -> int:
    return sum(
        1
        for entry in emulator.state.request_log()
        if entry["method"] == "POST" and entry["path"].startswith("/api/v3/wavespeed-ai/qwen-image/")
    )


def no_key(log: ServerLog, *results: CallToolResult) -> None:
    assert API_KEY not in log.text
    assert PASSWORD not in log.text
    assert not [result for result in results if API_KEY in result.model_dump_json()]


async def burst(client: Client, calls: int) -> list[CallToolResult]:
    results: list[CallToolResult] = []

    async def one() -> None:
        results.append(await client.call_tool("edit_image", {**EDIT, "wait_seconds": 0}))

    async with anyio.create_task_group() as group:
        for _ in range(calls):
            group.start_soon(one)
    return results


async def test_the_balance_and_the_price_of_two_variants(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with stdio_server(env(emulator, tmp_path)) as (client, log):
        before = await client.call_tool("get_balance", {})
        edit = await client.call_tool("edit_image", EDIT)
        lora = await client.call_tool("edit_image", LORA)
        after = await client.call_tool("get_balance", {})
    assert before.structured_content is not None
    assert before.structured_content["balance_usd"] == 5.0
    assert edit.structured_content is not None
    assert edit.structured_content["cost_usd"] == 0.02
    assert lora.structured_content is not None
    assert lora.structured_content["cost_usd"] == 0.025
    assert "Cost: $0.02 for this run (edit)" in text_of(edit)
    assert "Cost: $0.025 for this run (edit-lora)" in text_of(lora)
    assert after.structured_content is not None
    assert after.structured_content["balance_usd"] == 4.955
    no_key(log, before, edit, lora, after)


async def test_the_limit_refuses_with_zero_paid_requests_and_holds_after_a_restart(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    settings = env(emulator, tmp_path, QWEN_EDIT_MAX_SPEND_USD="0.05")
    async with stdio_server(settings) as (client, log):
        paid = [await client.call_tool("edit_image", EDIT) for _ in range(2)]
        refused = await client.call_tool("edit_image", EDIT)
    assert not [result for result in paid if result.is_error]
    assert refused.is_error
    assert "Refused before any paid request" in text_of(refused)
    assert submits(emulator) == 2
    async with stdio_server(settings) as (client, log):
        again = await client.call_tool("edit_image", EDIT)
        balance = await client.call_tool("get_balance", {})
    assert again.is_error
    assert "Spent in the last 24 h: $0.04" in text_of(again)
    assert submits(emulator) == 2
    assert balance.structured_content is not None
    assert balance.structured_content["remaining_usd"] == pytest.approx(0.01)
    no_key(log, *paid, refused, again, balance)


async def test_32_concurrent_edits_at_the_edge_of_the_limit_never_overshoot(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    async with stdio_server(env(emulator, tmp_path, QWEN_EDIT_MAX_SPEND_USD="0.20")) as (client, log):
        results = await burst(client, 32)
    ran = [result for result in results if not result.is_error]
    refused = [result for result in results if "Refused before any paid request" in text_of(result)]
    print(
        f"32 concurrent edits, limit $0.20 at $0.02: {len(ran)} ran, {len(refused)} refused, {submits(emulator)} paid"
    )
    assert (len(ran), len(refused), submits(emulator)) == (10, 22, 10)
    no_key(log, *results)


@pytest.mark.parametrize("ledger", ["sqlite", "redis"])
async def test_two_server_processes_sharing_a_ledger_never_overshoot_under_50_concurrent_edits(
    emulator: RunningEmulator, tmp_path: Path, ledger: str
) -> None:
    with running_redis(tmp_path) if ledger == "redis" else nullcontext("") as where:
        shared = {"QWEN_EDIT_MAX_SPEND_USD": "0.20"}
        if ledger == "redis":
            shared["QWEN_EDIT_STORE_URL"] = where
        first, second = env(emulator, tmp_path / "a", **shared), env(emulator, tmp_path / "b", **shared)
        if ledger == "sqlite":  # several workers of one machine: one cache folder
            second["QWEN_EDIT_CACHE_DIR"] = first["QWEN_EDIT_CACHE_DIR"]
        async with stdio_server(first) as (one, log_one), stdio_server(second) as (two, log_two):
            results: list[CallToolResult] = []

            async def run(client: Client) -> None:
                results.extend(await burst(client, 25))

            async with anyio.create_task_group() as group:
                group.start_soon(run, one)
                group.start_soon(run, two)
    ran = sum(1 for result in results if not result.is_error)
    print(f"two processes ({ledger} ledger), 2x25 concurrent edits, limit $0.20: {ran} ran, {submits(emulator)} paid")
    assert (ran, submits(emulator)) == (10, 10)
    no_key(log_one, *results)
    no_key(log_two)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_asking_before_paying_a_decline_and_an_accept_in_both_eras(
    emulator: RunningEmulator, tmp_path: Path, mode: str
) -> None:
    answers: list[str] = []
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        action = answers[0]
        return ElicitResult(action=action, content={"go_ahead": True} if action == "accept" else None)  # pyright: ignore[reportArgumentType]

    options: dict[str, Any] = {"mode": mode, "elicitation_callback": user}
    async with stdio_server(env(emulator, tmp_path, QWEN_EDIT_CONFIRM_SPEND="always"), **options) as (client, log):
        answers[:] = ["decline"]
        declined = await client.call_tool("edit_image", EDIT)
        assert submits(emulator) == 0
        answers[:] = ["accept"]
        accepted = await client.call_tool("edit_image", EDIT)
    assert not declined.is_error
    assert "nothing was paid" in text_of(declined)
    assert declined.structured_content is not None
    assert declined.structured_content["prediction_id"] is None
    assert not accepted.is_error
    assert accepted.structured_content is not None
    assert accepted.structured_content["status"] == "completed"
    assert submits(emulator) == 1
    assert asked
    # In the 2026-07-28 era each question ends with a reference of its own, which ties its answer to it.
    assert {re.sub(r" \(question [0-9a-f]{8}\)$", "", message) for message in asked} == {
        "This edit runs edit for $0.02; balance $5.00. Go ahead?"
    }
    no_key(log, declined, accepted)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("never", (False, False)), ("always", (True, True)), ("above:0.02", (False, True))],
)
async def test_a_client_without_elicitation_under_each_mode(
    emulator: RunningEmulator, tmp_path: Path, setting: str, expected: tuple[bool, bool]
) -> None:
    async with stdio_server(env(emulator, tmp_path, QWEN_EDIT_CONFIRM_SPEND=setting)) as (client, log):
        edit = await client.call_tool("edit_image", EDIT)
        lora = await client.call_tool("edit_image", LORA)
    assert (edit.is_error, lora.is_error) == expected
    for result in (edit, lora):
        if result.is_error:
            assert "cannot ask the user" in text_of(result)
            assert "nothing paid" in text_of(result)
    assert submits(emulator) == [edit.is_error, lora.is_error].count(False)
    no_key(log, edit, lora)


@pytest.mark.parametrize(("status", "message"), [(402, "Payment required"), (400, "Insufficient balance")])
async def test_an_empty_account_says_to_top_up(
    emulator: RunningEmulator, tmp_path: Path, status: int, message: str
) -> None:
    emulator.state.balance_usd = Decimal("0.01")
    emulator.state.faults.empty_account_status = status
    emulator.state.faults.empty_account_message = message
    async with stdio_server(env(emulator, tmp_path)) as (client, log):
        result = await client.call_tool("edit_image", EDIT)
    assert result.is_error
    assert TOP_UP_URL in text_of(result)
    assert "balance is too low" in text_of(result)
    assert "Fix the named parameter" not in text_of(result)
    no_key(log, result)
