"""The spend ledger's arithmetic, refusals, rolling window and leases, kept in the SQLite store across restarts,
threads and processes. Time is a fake wall clock: nothing here sleeps."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import anyio
import pytest
from ledger_helpers import DAY, START, reserve_concurrently, run_workers, wall_clock
from sqlite_helpers import database, rows

from fakes import FakeClock
from qwen_image_edit_mcp.state.ledger import (
    LEASE_SECONDS,
    LedgerSettingsError,
    LedgerUnavailable,
    SpendLedger,
    SpendLimitExceeded,
    format_usd,
    to_micros,
)
from qwen_image_edit_mcp.state.store import Store, open_store

pytestmark = pytest.mark.anyio


class LedgerAt(Protocol):
    def __call__(self, clock: FakeClock, limit: str = "0.10", *, directory: Path | None = None) -> SpendLedger: ...


@pytest.fixture
async def ledger_at(tmp_path: Path) -> AsyncGenerator[LedgerAt]:
    """A ledger in a store on `tmp_path` (or `directory`); each call opens the store anew, as a new process would."""
    stores: list[Store] = []

    def make(clock: FakeClock, limit: str = "0.10", *, directory: Path | None = None) -> SpendLedger:
        stores.append(open_store(None, directory or tmp_path, wall_clock=clock.now))
        return stores[-1].ledger(Decimal(limit))

    yield make
    for store in stores:
        await store.aclose()


async def test_reserve_commit_and_release_add_up(tmp_path: Path, ledger_at: LedgerAt) -> None:
    clock = wall_clock()
    ledger = ledger_at(clock)
    first = await ledger.reserve(Decimal("0.02"), label="edit")
    assert first.amount_usd == Decimal("0.02")
    status = await ledger.status()
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (0, Decimal("0.02"), Decimal("0.08"))

    await ledger.commit(first, "pred-1")
    second = await ledger.reserve(Decimal("0.025"), label="edit-plus")
    status = await ledger.status()
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (
        Decimal("0.02"),
        Decimal("0.025"),
        Decimal("0.055"),
    )

    await ledger.release(second)
    await ledger.release(first)  # already committed: a release cannot hand spent money back
    status = await ledger.status()
    assert (status.limit_usd, status.spent_usd, status.reserved_usd, status.remaining_usd) == (
        Decimal("0.10"),
        Decimal("0.02"),
        0,
        Decimal("0.08"),
    )
    assert status.frees_at == datetime.fromtimestamp(START + DAY, UTC)
    stored = rows(database(tmp_path), "SELECT state, prediction_id, micros FROM ledger")
    assert stored == [("spent", "pred-1", 20_000)]


async def test_a_refusal_names_the_limit_the_spend_and_when_room_frees(ledger_at: LedgerAt) -> None:
    clock = wall_clock()
    ledger = ledger_at(clock, "0.05")
    await ledger.commit(await ledger.reserve(Decimal("0.02"), label="a"), "pred-a")
    clock.advance(3600)
    await ledger.commit(await ledger.reserve(Decimal("0.02"), label="b"), "pred-b")
    clock.advance(3600)
    in_flight = await ledger.reserve(Decimal("0.01"), label="c")

    with pytest.raises(SpendLimitExceeded) as refused:
        await ledger.reserve(Decimal("0.02"), label="d")

    message = refused.value.message
    assert "Refused before any paid request" in message
    assert "this edit costs $0.02" in message
    assert "spend limit of $0.05 per rolling 24 h" in message
    assert "Spent in the last 24 h: $0.04, plus $0.01 reserved by edits in progress." in message
    # The oldest spend turns 24 h old 22 h from now, and that frees enough room.
    assert "Room for it frees up at 2025-11-25T16:00:00Z (in 1320 min)." in message
    assert refused.value.frees_at == datetime(2025, 11, 25, 16, 0, tzinfo=UTC)
    assert (refused.value.limit_usd, refused.value.spent_usd, refused.value.reserved_usd) == (
        Decimal("0.05"),
        Decimal("0.04"),
        Decimal("0.01"),
    )
    # A refusal books nothing.
    assert (await ledger.status()).reserved_usd == in_flight.amount_usd


async def test_an_edit_dearer_than_the_whole_limit_says_so(ledger_at: LedgerAt) -> None:
    ledger = ledger_at(wall_clock(), "0.01")
    with pytest.raises(SpendLimitExceeded, match=r"costs more than the whole limit") as refused:
        await ledger.reserve(Decimal("0.02"), label="edit")
    assert refused.value.frees_at is None


async def test_room_frees_exactly_when_the_oldest_spend_turns_24_hours_old(ledger_at: LedgerAt) -> None:
    clock = wall_clock()
    ledger = ledger_at(clock, "0.04")
    await ledger.commit(await ledger.reserve(Decimal("0.02"), label="old"), "p1")
    clock.advance(100)
    await ledger.commit(await ledger.reserve(Decimal("0.02"), label="newer"), "p2")

    clock.current = START + DAY - 0.001
    with pytest.raises(SpendLimitExceeded):
        await ledger.reserve(Decimal("0.02"), label="too early")
    clock.current = START + DAY
    await ledger.reserve(Decimal("0.02"), label="just in time")
    with pytest.raises(SpendLimitExceeded) as refused:
        await ledger.reserve(Decimal("0.02"), label="next")
    assert refused.value.frees_at == datetime.fromtimestamp(START + 100 + DAY, UTC)


async def test_a_lease_that_runs_out_counts_as_spent_until_24_hours_after_it_ended(
    tmp_path: Path, ledger_at: LedgerAt
) -> None:
    clock = wall_clock()
    ledger = ledger_at(clock, "0.02")
    stranded = await ledger.reserve(Decimal("0.02"), label="process died mid-submit")
    assert stranded.lease_until == START + LEASE_SECONDS

    clock.advance(LEASE_SECONDS)
    status = await ledger.status()
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (Decimal("0.02"), 0, 0)
    with pytest.raises(SpendLimitExceeded, match=re.escape("Spent in the last 24 h: $0.02.")) as refused:
        await ledger.reserve(Decimal("0.02"), label="next")
    assert refused.value.frees_at == datetime.fromtimestamp(START + LEASE_SECONDS + DAY, UTC)

    clock.current = START + LEASE_SECONDS + DAY
    assert (await ledger.status()).remaining_usd == Decimal("0.02")
    await ledger.reserve(Decimal("0.02"), label="a day later")
    assert rows(database(tmp_path), "SELECT label FROM ledger") == [("a day later",)]  # pruned by the reservation


async def test_a_commit_counts_from_the_commit_and_survives_a_late_one(tmp_path: Path, ledger_at: LedgerAt) -> None:
    clock = wall_clock()
    ledger = ledger_at(clock, "0.02")
    reservation = await ledger.reserve(Decimal("0.02"), label="slow submit")
    clock.advance(LEASE_SECONDS + DAY + 60)
    await ledger.reserve(Decimal("0.01"), label="prunes the old reservation")
    assert rows(database(tmp_path), "SELECT label FROM ledger") == [("prunes the old reservation",)]
    await ledger.commit(reservation, "pred-late")  # long pruned by now; the submit still returned an id
    status = await ledger.status()
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), Decimal("0.01"))
    assert status.frees_at == datetime.fromtimestamp(clock.now() + DAY, UTC)


async def test_the_ledger_survives_a_restart(ledger_at: LedgerAt) -> None:
    clock = wall_clock()
    before = ledger_at(clock)
    await before.commit(await before.reserve(Decimal("0.02"), label="a"), "p")
    held = await before.reserve(Decimal("0.03"), label="b")

    after = ledger_at(clock)
    status = await after.status()
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), Decimal("0.03"))
    await after.release(held)  # a reservation made before the restart can still be settled
    assert (await after.status()).remaining_usd == Decimal("0.08")


async def test_only_a_reservation_waits_for_the_disk_a_commit_or_a_release_does_not(
    ledger_at: LedgerAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lost commit or release leaves the reservation, which its lease turns into a spend: less room, never more.
    statements: list[str] = []
    real_connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    ledger = ledger_at(wall_clock())
    first = await ledger.reserve(Decimal("0.02"), label="a")
    second = await ledger.reserve(Decimal("0.02"), label="b")
    await ledger.commit(first, "p")
    await ledger.release(second)

    synchronous, at_commit = "NORMAL", list[str]()
    for statement in statements:
        if statement.startswith("PRAGMA synchronous = "):
            synchronous = statement.removeprefix("PRAGMA synchronous = ")
        elif statement == "COMMIT":
            at_commit.append(synchronous)
    assert at_commit[-4:] == ["FULL", "FULL", "NORMAL", "NORMAL"]
    assert (await ledger.status()).spent_usd == Decimal("0.02")


async def test_an_unusable_directory_refuses_rather_than_guessing(tmp_path: Path, ledger_at: LedgerAt) -> None:
    (tmp_path / "a-file").write_text("")
    ledger = ledger_at(wall_clock(), directory=tmp_path / "a-file" / "cache")
    with pytest.raises(LedgerUnavailable, match="could not be read or written") as failed:
        await ledger.reserve(Decimal("0.02"), label="edit")
    assert "nothing was sent" in failed.value.message
    assert str(tmp_path / "a-file" / "cache") in failed.value.message


async def test_32_concurrent_reservations_at_the_edge_of_the_limit_grant_exactly_15(ledger_at: LedgerAt) -> None:
    ledger = ledger_at(wall_clock(), "0.30")
    granted, refused = await reserve_concurrently(ledger, "0.02", 32)
    assert (len(granted), refused) == (15, 17)
    assert len({reservation.id for reservation in granted}) == 15
    status = await ledger.status()
    assert (status.reserved_usd, status.remaining_usd) == (Decimal("0.30"), 0)


def test_two_threads_with_their_own_event_loops_share_one_file(tmp_path: Path) -> None:
    granted: list[int] = []

    async def burst() -> None:
        store = open_store(None, tmp_path)
        try:
            reservations, _ = await reserve_concurrently(store.ledger(Decimal("0.30")), "0.02", 32)
        finally:
            await store.aclose()
        granted.append(len(reservations))

    threads = [threading.Thread(target=anyio.run, args=(burst,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(granted) == 2
    assert sum(granted) == 15


def test_two_processes_bursting_on_one_file_never_pass_the_limit(tmp_path: Path) -> None:
    results = run_workers(["sqlite", str(tmp_path), "0.30", "0.02", "32", "burst"])
    assert sum(result["ok"] for result in results) == 15
    assert sum(result["refused"] for result in results) == 64 - 15
    assert max(result["max_seen_micros"] for result in results) <= to_micros(Decimal("0.30"))
    assert rows(database(tmp_path), "SELECT count(*) FROM ledger") == [(15,)]


def test_two_processes_churning_on_one_file_never_pass_the_limit(tmp_path: Path) -> None:
    results = run_workers(["sqlite", str(tmp_path), "0.30", "0.02", "16", "churn"])
    assert sum(result["ok"] for result in results) >= 15  # room was handed back and reused
    assert max(result["max_seen_micros"] for result in results) <= to_micros(Decimal("0.30"))
    assert rows(database(tmp_path), "SELECT count(*) FROM ledger") == [(0,)]  # every reservation was released


async def test_a_limit_of_zero_or_less_or_not_a_number_is_refused(ledger_at: LedgerAt) -> None:
    for bad in ("0", "-1", "NaN", "Infinity"):
        with pytest.raises(LedgerSettingsError, match="QWEN_EDIT_MAX_SPEND_USD must be above 0"):
            ledger_at(wall_clock(), bad)
    assert ledger_at(wall_clock(), "5").limit_usd == Decimal("5")


async def test_amounts_round_towards_the_safe_side(ledger_at: LedgerAt) -> None:
    assert to_micros(Decimal("0.0200001")) == 20_001  # a reservation never books less than the price
    assert ledger_at(wall_clock(), "0.0299999").limit_usd == Decimal("0.029999")  # nor the cap grows
    assert (format_usd(20_000), format_usd(25_000), format_usd(1_500_000)) == ("$0.02", "$0.025", "$1.50")
    with pytest.raises(ValueError, match="finite Decimal"):
        to_micros(0.02)  # type: ignore[arg-type]  # a float is refused, not summed
