"""The price book: live quotes cached per model and inputs, whatever their size; without one, the larger of the
model's fallback price and the last live quote, so a reservation is never less than the platform was seen to charge."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import anyio
import pytest

from fakes import FakeClock
from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.pricing import PriceBook, PriceUnknown, Quote, parse_price
from qwen_image_edit_mcp.upstream.catalog_scan import scan
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.upstream.spec import ModelSpec

pytestmark = pytest.mark.anyio

EDIT = BUILT_IN["edit"]  # documented at $0.02
LORA = BUILT_IN["edit-lora"]  # documented at $0.025
INPUTS = {"prompt": "make the sky purple", "image": "https://example.com/a.png"}


def unpriced_catalog_model() -> ModelSpec:
    """A model only the catalog knows, listed without a base price: nothing says what a run of it costs."""
    entry: dict[str, Any] = copy.deepcopy(next(e for e in BUILT_IN_MODELS if e["model_id"] == EDIT.model_id))
    entry["model_id"] = "wavespeed-ai/qwen-image-9/edit"
    del entry["base_price"]
    return scan([entry]).models["wavespeed-ai/qwen-image-9/edit"]


UNPRICED = unpriced_catalog_model()


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


def book(fetch: FakePrices | None, clock: FakeClock) -> PriceBook:
    return PriceBook(fetch, clock=clock.now, ttl_seconds=600, retry_seconds=60)


async def quote(prices: PriceBook, model: ModelSpec, inputs: Mapping[str, Any] = INPUTS) -> Quote:
    """What the spending side asks: the model's id, the run's inputs and the model's own fallback price."""
    return await prices.quote(model.model_id, inputs, fallback=model.fallback_price)


async def test_a_live_price_is_cached_per_model_for_ten_minutes(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.018"), Decimal("0.03"), Decimal("0.019"))
    prices = book(fetch, clock)
    assert await quote(prices, EDIT) == Quote(Decimal("0.018"), "live")
    assert await quote(prices, LORA) == Quote(Decimal("0.03"), "live")  # each model has its own price
    clock.advance(599)
    assert await quote(prices, EDIT) == Quote(Decimal("0.018"), "live")
    assert fetch.calls == [(EDIT.model_id, INPUTS), (LORA.model_id, INPUTS)]
    clock.advance(1)
    assert await quote(prices, EDIT) == Quote(Decimal("0.019"), "live")
    assert len(fetch.calls) == 3


async def test_a_failed_lookup_falls_back_to_the_documented_price_and_retries_a_minute_later(clock: FakeClock) -> None:
    fetch = FakePrices(OSError("connection refused"), Decimal("0.021"))
    prices = book(fetch, clock)
    assert await quote(prices, EDIT) == Quote(Decimal("0.02"), "documented")
    clock.advance(59)
    assert await quote(prices, EDIT) == Quote(Decimal("0.02"), "documented")
    assert len(fetch.calls) == 1  # a broken endpoint is not asked again on every edit
    clock.advance(1)
    assert await quote(prices, EDIT) == Quote(Decimal("0.021"), "live")


@pytest.mark.parametrize(
    "nonsense", [Decimal("NaN"), Decimal("Infinity"), Decimal("-0.02"), Decimal(0), 0.02, "0.02", None]
)
async def test_a_nonsense_answer_falls_back_to_the_documented_price(clock: FakeClock, nonsense: object) -> None:
    assert await quote(book(FakePrices(nonsense), clock), LORA) == Quote(Decimal("0.025"), "documented")


async def test_a_dear_live_price_is_the_price_however_far_above_the_table(clock: FakeClock) -> None:
    # Treating a dear quote as implausible once reserved $0.02 for runs that cost $1.50: the quote is the price.
    assert await quote(book(FakePrices(Decimal("1.50")), clock), EDIT) == Quote(Decimal("1.50"), "live")


async def test_quotes_are_cached_per_inputs(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.02"), Decimal("0.04"))
    prices = book(fetch, clock)
    two = {**INPUTS, "images": ["https://example.com/a.png", "https://example.com/b.png"]}
    assert await quote(prices, EDIT) == Quote(Decimal("0.02"), "live")
    assert await quote(prices, EDIT, two) == Quote(Decimal("0.04"), "live")
    assert await quote(prices, EDIT, dict(reversed(list(INPUTS.items())))) == Quote(Decimal("0.02"), "live")
    assert await quote(prices, EDIT, {**INPUTS, "prompt": "another edit", "seed": 7}) == Quote(Decimal("0.02"), "live")
    assert fetch.calls == [(EDIT.model_id, INPUTS), (EDIT.model_id, two)]  # a new prompt or seed is the same price


async def test_without_a_quote_the_fallback_is_never_below_the_last_live_price(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.05"), RuntimeError("down"), RuntimeError("down"))
    prices = book(fetch, clock)
    assert await quote(prices, EDIT) == Quote(Decimal("0.05"), "live")
    clock.advance(600)
    assert await quote(prices, EDIT) == Quote(Decimal("0.05"), "last live")  # above the table's $0.02
    clock.advance(60)
    other = {**INPUTS, "size": "512*512"}
    assert await quote(prices, EDIT, other) == Quote(Decimal("0.05"), "last live")


async def test_a_last_live_price_below_the_table_leaves_the_table_price(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.01"), RuntimeError("down"))
    prices = book(fetch, clock)
    assert await quote(prices, EDIT) == Quote(Decimal("0.01"), "live")
    clock.advance(600)
    assert await quote(prices, EDIT) == Quote(Decimal("0.02"), "documented")


async def test_no_live_price_and_none_documented_is_an_error(clock: FakeClock) -> None:
    prices = book(FakePrices(RuntimeError("boom")), clock)
    with pytest.raises(PriceUnknown, match="No price is known for someone/else") as caught:
        await prices.quote("someone/else", INPUTS, fallback=None)
    assert isinstance(caught.value, InputError)  # refused like any argument: nothing is sent


@pytest.mark.parametrize("answer", [RuntimeError("down"), Decimal(0)], ids=["failed", "nonsense"])
async def test_a_catalog_model_without_a_base_price_and_no_live_answer_is_refused_saying_nothing_was_paid(
    clock: FakeClock, answer: object
) -> None:
    assert (UNPRICED.source, UNPRICED.fallback_price) == ("catalog", None)
    fetch = FakePrices(answer)
    with pytest.raises(PriceUnknown, match="Nothing was sent or paid") as caught:
        await quote(book(fetch, clock), UNPRICED)
    assert UNPRICED.model_id in str(caught.value)
    assert fetch.calls == [(UNPRICED.model_id, INPUTS)]


async def test_a_model_with_no_price_is_refused_at_once_for_a_minute_after_a_failed_look_up(clock: FakeClock) -> None:
    fetch = FakePrices(OSError("down"), OSError("down"))
    prices = book(fetch, clock)
    for _ in range(3):  # a broken look-up (up to 10 s each) is not waited on by every call
        with pytest.raises(PriceUnknown):
            await quote(prices, UNPRICED)
    assert len(fetch.calls) == 1
    clock.advance(61)
    with pytest.raises(PriceUnknown):
        await quote(prices, UNPRICED)
    assert len(fetch.calls) == 2


async def test_a_price_book_without_a_fetch_never_looks_up_and_answers_the_fallback(clock: FakeClock) -> None:
    prices = book(None, clock)
    for _ in range(3):  # however often, and however much later: never a look-up, never a "live" quote
        assert await quote(prices, EDIT) == Quote(Decimal("0.02"), "documented")
        assert await quote(prices, LORA, {**INPUTS, "seed": 3}) == Quote(Decimal("0.025"), "documented")
        clock.advance(3600)
    with pytest.raises(PriceUnknown, match="No price is known"):
        await quote(prices, UNPRICED)


async def test_a_burst_of_quotes_asks_once(clock: FakeClock) -> None:
    fetch = FakePrices(Decimal("0.02"))
    prices = book(fetch, clock)
    quotes: list[Quote] = []

    async def one() -> None:
        quotes.append(await quote(prices, EDIT))

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
