"""Money through the in-memory Client, in both protocol eras: the price in every result (live, cached, or the
documented one), get_balance, the spend limit refusing before any paid request, reservations released only when a
submit provably created nothing, and an empty account in each reading of WaveSpeed's unverified answer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from mcp import Client

from fakes import FakeClock
from harness import World, make_world, text_of
from qwen_image_edit_mcp.errors import TOP_UP_URL

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"
EDIT = {"prompt": "add a hat", "image": URL_IMAGE}
PRICE = "/api/v3/model/price"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def limited(clock: FakeClock, tmp_path: Path, limit: str = "0.05") -> World:
    return make_world(clock, tmp_path, max_spend_usd=Decimal(limit))


async def test_every_result_states_the_live_price_asked_once_per_variant(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.faults.price_usd = 0.03  # the live price differs from the documented one, to tell them apart
    async with Client(world.server, mode=mode) as client:
        first = await client.call_tool("edit_image", EDIT)
        second = await client.call_tool("edit_image", {**EDIT, "wait_seconds": 0})
        lora = await client.call_tool("edit_image", {**EDIT, "model": "edit-lora", "loras": []})
    for result in (first, second, lora):
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        assert result.structured_content["cost_usd"] == 0.03
        assert "Cost: $0.03 for this run" in text_of(result)
    assert second.structured_content is not None
    assert second.structured_content["pending"] is True
    asked = [entry["json"]["model_id"] for entry in world.requests("POST", PRICE)]
    assert asked == ["wavespeed-ai/qwen-image/edit", "wavespeed-ai/qwen-image/edit-lora"]  # cached per inputs
    # The quote is for the run's own inputs: its fields and the image URL as given.
    assert all(entry["json"]["inputs"]["image"] == URL_IMAGE for entry in world.requests("POST", PRICE))


async def test_a_failing_price_endpoint_falls_back_to_the_documented_price(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.faults.price_errors = 1
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {**EDIT, "model": "edit-lora", "loras": []})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["cost_usd"] == 0.025
    assert len(world.submits()) == 1


async def test_get_balance_reports_the_balance_and_without_a_limit_says_so(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.balance_usd = Decimal("12.34")
    async with Client(world.server, mode=mode) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "get_balance")
        result = await client.call_tool("get_balance", {})
    assert tool.annotations is not None
    hints = tool.annotations
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint) == (
        True,
        False,
        True,
        True,
    )
    assert tool.input_schema.get("properties", {}) == {}
    assert not result.is_error
    assert result.structured_content == {
        "balance_usd": 12.34,
        "spend_limit_usd": None,
        "spent_usd": None,
        "remaining_usd": None,
        "frees_at": None,
    }
    assert "$12.34" in text_of(result)
    assert "no spend limit" in text_of(result)
    assert world.submits() == []


async def test_the_limit_refuses_before_any_paid_request_and_names_limit_spent_and_when(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = limited(clock, tmp_path)
    async with Client(world.server, mode=mode) as client:
        paid = [await client.call_tool("edit_image", EDIT) for _ in range(2)]
        refused = await client.call_tool("edit_image", EDIT)
        balance = await client.call_tool("get_balance", {})
    assert not any(result.is_error for result in paid)
    assert refused.is_error
    text = text_of(refused)
    assert "Refused before any paid request" in text
    assert "$0.05" in text
    assert "Spent in the last 24 h: $0.04" in text
    assert "frees up at" in text
    assert "QWEN_EDIT_MAX_SPEND_USD" in text
    assert len(world.submits()) == 2
    assert balance.structured_content is not None
    assert balance.structured_content["spend_limit_usd"] == 0.05
    assert balance.structured_content["spent_usd"] == 0.04
    assert balance.structured_content["remaining_usd"] == pytest.approx(0.01)
    assert "$0.01 left" in text_of(balance)


@pytest.mark.parametrize(("status", "released"), [(400, True), (429, True), (500, False)])
async def test_a_refused_submit_releases_its_reservation_and_one_of_unknown_outcome_keeps_it(
    clock: FakeClock, tmp_path: Path, status: int, released: bool
) -> None:
    world = limited(clock, tmp_path)
    world.emulator.faults.submit_error_status = status
    world.emulator.faults.submit_error_count = 10  # every retry of a 429 too
    async with Client(world.server) as client:
        failed = await client.call_tool("edit_image", EDIT)
        balance = await client.call_tool("get_balance", {})
    assert failed.is_error
    assert balance.structured_content is not None
    assert balance.structured_content["remaining_usd"] == (0.05 if released else pytest.approx(0.03))


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (402, "Insufficient balance. Please top up your account to continue."),
        (400, "insufficient balance"),
        (403, "Your balance is not enough, please top up"),
    ],
)
async def test_an_empty_account_says_to_top_up_in_either_reading_and_releases_the_room(
    clock: FakeClock, tmp_path: Path, status: int, message: str
) -> None:
    world = limited(clock, tmp_path)
    world.emulator.balance_usd = Decimal("0.01")
    world.emulator.faults.empty_account_status = status
    world.emulator.faults.empty_account_message = message
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", EDIT)
        balance = await client.call_tool("get_balance", {})
    assert result.is_error
    text = text_of(result)
    assert "balance is too low" in text
    assert TOP_UP_URL in text
    assert "nothing was created or paid" in text
    assert "Fix the named parameter" not in text
    assert balance.structured_content is not None
    assert balance.structured_content["remaining_usd"] == 0.05
    assert balance.structured_content["balance_usd"] == 0.01


async def test_a_bad_request_that_does_not_mention_balance_is_still_a_bad_request(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.faults.submit_error_status = 400
    world.emulator.faults.submit_error_count = 1
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", EDIT)
    assert result.is_error
    assert "Fix the named parameter" in text_of(result)
    assert TOP_UP_URL not in text_of(result)
