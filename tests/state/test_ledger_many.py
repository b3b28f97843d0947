"""Several reservations booked in one atomic step, all or nothing, run against both ledgers: SQLite in a temporary
folder and a real redis-server. Time is a fake wall clock: nothing here sleeps."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import cast

import anyio
import pytest
from ledger_helpers import wall_clock
from redis_helpers import redis_client, stored_totals
from sqlite_helpers import database, rows

from qwen_image_edit_mcp.state.ledger import Reservation, SpendLedger, SpendLimitExceeded
from qwen_image_edit_mcp.state.redis_ledger import KEY_PREFIX
from qwen_image_edit_mcp.state.store import open_store
from redis_server import running_redis

pytestmark = pytest.mark.anyio


class Backend:
    """Opens ledgers with a given limit on one shared place, each in a store opened as a new process would."""

    def __init__(self, tmp_path: Path, url: str | None) -> None:
        self.url = url
        self.cache = tmp_path / "cache"
        self.clock = wall_clock()

    @asynccontextmanager
    async def ledger(self, limit: str) -> AsyncGenerator[SpendLedger]:
        store = open_store(self.url, self.cache, wall_clock=self.clock.now)
        await store.open()
        try:
            yield store.ledger(Decimal(limit))
        finally:
            await store.aclose()

    def stored_micros(self) -> list[int]:
        """Every entry's micros as stored, smallest first (in Redis, after checking its running total agrees)."""
        if self.url is None:
            return sorted(micros for (micros,) in rows(database(self.cache), "SELECT micros FROM ledger"))
        total, summed = stored_totals(self.url)
        assert total == summed
        with redis_client(self.url) as client:
            entries = cast("list[str]", client.hvals(f"{KEY_PREFIX}:entries"))
        return sorted(json.loads(raw)["micros"] for raw in entries)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend(tmp_path, None)
        return
    with running_redis(tmp_path) as url:
        yield Backend(tmp_path, url)


def amounts(*prices: str) -> list[Decimal]:
    return [Decimal(price) for price in prices]


async def test_several_reservations_are_booked_at_once_and_settled_one_by_one(backend: Backend) -> None:
    async with backend.ledger("0.10") as ledger:
        first, second, third = await ledger.reserve_many(amounts("0.02", "0.03", "0.01"), label="batch")
        assert [r.amount_usd for r in (first, second, third)] == amounts("0.02", "0.03", "0.01")
        assert len({r.id for r in (first, second, third)}) == 3
        assert {(r.label, r.reserved_at, r.lease_until) for r in (first, second, third)} == {
            (first.label, first.reserved_at, first.lease_until)
        }
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (0, Decimal("0.06"), Decimal("0.04"))

        await ledger.commit(first, "pred-1")
        await ledger.release(second)
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (
            Decimal("0.02"),
            Decimal("0.01"),
            Decimal("0.07"),
        )
        await ledger.commit(third, "pred-3")
        await ledger.release(first)  # committed: stays spent
    async with backend.ledger("0.10") as again:  # as another process sees it
        status = await again.status()
        assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (Decimal("0.03"), 0, Decimal("0.07"))
    assert backend.stored_micros() == [10_000, 20_000]


async def test_a_sum_that_does_not_fit_books_nothing_and_the_refusal_names_the_sum(backend: Backend) -> None:
    async with backend.ledger("0.10") as ledger:
        held = await ledger.reserve(Decimal("0.02"), label="in flight")
        before = await ledger.status()
        # Each amount is rounded up on its own: 50,001 micros twice, so the refusal names $0.100002.
        with pytest.raises(SpendLimitExceeded) as refused:
            await ledger.reserve_many(amounts("0.0500001", "0.0500001"), label="too much together")
        assert refused.value.amount_usd == Decimal("0.100002")
        assert "this edit costs $0.100002" in refused.value.message
        assert (refused.value.spent_usd, refused.value.reserved_usd) == (0, Decimal("0.02"))
        assert await ledger.status() == before
        # Either one alone would have fitted; together they do not, and nothing of them was booked.
        assert [r.amount_usd for r in await ledger.reserve_many(amounts("0.05", "0.03"), label="fits")] == amounts(
            "0.05", "0.03"
        )
        await ledger.release(held)
        assert (await ledger.status()).reserved_usd == Decimal("0.08")
    assert backend.stored_micros() == [30_000, 50_000]


async def test_concurrent_batches_at_the_edge_of_the_limit_grant_exactly_one_and_nothing_partial(
    backend: Backend,
) -> None:
    granted: list[list[Reservation]] = []
    refusals: list[SpendLimitExceeded] = []
    async with backend.ledger("1") as ledger:

        async def one() -> None:
            try:
                granted.append(await ledger.reserve_many(amounts("0.2", "0.2", "0.2"), label="batch"))
            except SpendLimitExceeded as exc:
                refusals.append(exc)

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(one)
        assert (len(granted), len(refusals)) == (1, 9)
        assert len(granted[0]) == 3
        assert {exc.amount_usd for exc in refusals} == {Decimal("0.6")}
        status = await ledger.status()
        assert (status.reserved_usd, status.remaining_usd) == (Decimal("0.6"), Decimal("0.4"))
    assert backend.stored_micros() == [200_000] * 3  # the one batch granted, whole


async def test_an_empty_batch_is_refused_and_books_nothing(backend: Backend) -> None:
    async with backend.ledger("0.10") as ledger:
        with pytest.raises(ValueError, match="at least one amount"):
            await ledger.reserve_many([], label="nothing")
        with pytest.raises(ValueError, match="finite Decimal"):
            await ledger.reserve_many([Decimal("0.02"), 0.02], label="a float")  # type: ignore[list-item]
        assert (await ledger.status()).reserved_usd == 0
