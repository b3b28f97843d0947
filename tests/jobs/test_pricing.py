"""The price book: live quotes cached per model and inputs, whatever their size; without one, the larger of the
documented price and the last live quote, so a reservation is never less than the platform was seen to charge."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import anyio
import pytest

from fakes import FakeClock
from qwen_image_edit_mcp.jobs.pricing import PriceBook, PriceUnknown, Quote, parse_price

pytestmark = pytest.mark.anyio

EDIT = "wavespeed-ai/qwen-image/edit"
PLUS = "wavespeed-ai/qwen-image/edit-plus"
DOCUMENTED = {EDIT: Decimal("0.02"), PLUS: Decimal("0.025")}
INPUTS = {"prompt": "make the sky purple", "image": "https://example.com/a.png"}


class FakePrices:
    """WaveSpeed's price endpoint: answers from a script, one entry per call (an exception is raised instead)."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def __call__(self, model_id: str, inputs: Mapping[str, Any]) -> Decimal:
        self.calls.append((model_id, inputs))
        await anyio.lowlevel.checkpoint()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]  # nonsense on purpose, in some tests


def book(fetch: FakePrices, clock: FakeClock) -> PriceBook:
    return PriceBook(fetch, DOCUMENTED, clock=clock.now, ttl_seconds=600, retry_seconds=60)


async def test_a_live_price_is_cached_per_model_for_ten_minutes(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.018"), Decimal("0.03"), Decimal("0.019"))
    prices = book(fetch, clock)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.018"), "live")
    assert await prices.quote(PLUS, INPUTS) == Quote(Decimal("0.03"), "live")  # each variant has its own price
    clock.advance(599)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.018"), "live")
    assert fetch.calls == [(EDIT, INPUTS), (PLUS, INPUTS)]
    clock.advance(1)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.019"), "live")
    assert len(fetch.calls) == 3


async def test_a_failed_lookup_falls_back_to_the_documented_price_and_retries_a_minute_later(clock: FakeClock) -> None:
    fetch = FakePrices(OSError("connection refused"), Decimal("0.021"))
    prices = book(fetch, clock)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.02"), "documented")
    clock.advance(59)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.02"), "documented")
    assert len(fetch.calls) == 1  # a broken endpoint is not asked again on every edit
    clock.advance(1)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.021"), "live")


@pytest.mark.parametrize(
    "nonsense", [Decimal("NaN"), Decimal("Infinity"), Decimal("-0.02"), Decimal(0), 0.02, "0.02", None]
)
async def test_a_nonsense_answer_falls_back_to_the_documented_price(clock: FakeClock, nonsense: object) -> None:
    assert await book(FakePrices(nonsense), clock).quote(PLUS, INPUTS) == Quote(Decimal("0.025"), "documented")


async def test_a_dear_live_price_is_the_price_however_far_above_the_table(clock: FakeClock) -> None:
    # Treating a dear quote as implausible once reserved $0.02 for runs that cost $1.50: the quote is the price.
    assert await book(FakePrices(Decimal("1.50")), clock).quote(EDIT, INPUTS) == Quote(Decimal("1.50"), "live")


async def test_quotes_are_cached_per_inputs(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.02"), Decimal("0.04"))
    prices = book(fetch, clock)
    two = {**INPUTS, "images": ["https://example.com/a.png", "https://example.com/b.png"]}
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.02"), "live")
    assert await prices.quote(EDIT, two) == Quote(Decimal("0.04"), "live")
    assert await prices.quote(EDIT, dict(reversed(list(INPUTS.items())))) == Quote(Decimal("0.02"), "live")
    assert await prices.quote(EDIT, {**INPUTS, "prompt": "another edit", "seed": 7}) == Quote(Decimal("0.02"), "live")
    assert fetch.calls == [(EDIT, INPUTS), (EDIT, two)]  # a new prompt or seed is the same price


async def test_without_a_quote_the_fallback_is_never_below_the_last_live_price(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.05"), RuntimeError("down"), RuntimeError("down"))
    prices = book(fetch, clock)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.05"), "live")
    clock.advance(600)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.05"), "last live")  # above the table's $0.02
    clock.advance(60)
    other = {**INPUTS, "size": "512*512"}
    assert await prices.quote(EDIT, other) == Quote(Decimal("0.05"), "last live")


async def test_a_last_live_price_below_the_table_leaves_the_table_price(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.01"), RuntimeError("down"))
    prices = book(fetch, clock)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.01"), "live")
    clock.advance(600)
    assert await prices.quote(EDIT, INPUTS) == Quote(Decimal("0.02"), "documented")


async def test_no_live_price_and_none_documented_is_an_error(clock: FakeClock) -> None:
    prices = book(FakePrices(RuntimeError("boom")), clock)
    with pytest.raises(PriceUnknown, match="No price is known for someone/else"):
        await prices.quote("someone/else", INPUTS)


async def test_a_burst_of_quotes_asks_once(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.02"))
    prices = book(fetch, clock)
    quotes: list[Quote] = []

    async def one() -> None:
        quotes.append(await prices.quote(EDIT, INPUTS))

    async with anyio.create_task_group() as group:
        for _ in range(32):
            group.start_soon(one)
    assert quotes == [Quote(Decimal("0.02"), "live")] * 32
    assert len(fetch.calls) == 1


def test_parse_price_reads_the_discounted_price_first() -> None:
    assert parse_price({"code": 200, "data": {"price": 0.025, "discounted_price": 0.02}}) == Decimal("0.02")
    assert parse_price({"data": {"price": "0.025"}}) == Decimal("0.025")
    assert parse_price({"data": {"price": 0.025, "discounted_price": 0}}) == Decimal("0.025")  # zero: absent
    assert parse_price({"data": {"price": 1, "discounted_price": None}}) == Decimal(1)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"data": None},
        {"data": {"price": True}},
        {"data": {"price": "free"}},
        {"data": {"price": -1}},
        {"data": {"price": float("nan")}},
        [0.02],
    ],
)
def test_parse_price_refuses_what_is_not_a_price(body: object) -> None:
    with pytest.raises(ValueError, match="neither a positive price"):
        parse_price(body)
