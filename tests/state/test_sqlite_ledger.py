"""The SQLite ledger when the database will not cooperate: held by another process, damaged, read-only. Each refuses
the reservation clearly (the file, the cause, nothing sent) within the store's wait, and works again once the
cause is gone. The waits here are real (a lock is held for real), and short."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from ledger_helpers import reserve_concurrently, wall_clock
from sqlite_helpers import database, held, opened, unwritable

from qwen_image_edit_mcp.state.ledger import LedgerUnavailable, SpendLimitExceeded
from qwen_image_edit_mcp.state.store import open_store

pytestmark = pytest.mark.anyio

WAIT = 0.2


async def test_a_held_lock_refuses_a_reservation_within_the_wait_naming_the_file_then_lets_it_through(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
        ledger = store.ledger(Decimal("0.10"))
        with held(database(tmp_path)):
            started = time.monotonic()
            with pytest.raises(LedgerUnavailable) as failed:
                await ledger.reserve(Decimal("0.02"), label="edit")
            assert WAIT * 0.9 <= time.monotonic() - started < WAIT + 1.0
        assert failed.value.message == (
            f"The spend ledger in {database(tmp_path)} could not be read or written (busy: another process held it "
            "for more than 0.2 s), so the spend limit cannot be checked and nothing was sent."
        )
        await ledger.reserve(Decimal("0.02"), label="edit")
        assert (await ledger.status()).reserved_usd == Decimal("0.02")


async def test_a_burst_against_a_held_lock_is_refused_within_one_wait_not_one_wait_per_call(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
        ledger = store.ledger(Decimal("0.10"))
        failures: list[str] = []

        async def one() -> None:
            try:
                await ledger.reserve(Decimal("0.02"), label="burst")
            except LedgerUnavailable as exc:
                failures.append(exc.message)

        with held(database(tmp_path)):
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(one)
            elapsed = time.monotonic() - started
        # Each call waited for its turn and for the lock within the same 0.2 s, not 8 × 0.2 s one after another.
        assert elapsed < 4 * WAIT
        assert len(failures) == 8
        assert all("busy: another process held it for more than 0.2 s" in failure for failure in failures)


async def test_the_status_is_read_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
        ledger = store.ledger(Decimal("0.10"))
        await ledger.reserve(Decimal("0.02"), label="edit")
        with held(database(tmp_path)):  # WAL: readers never wait for a writer
            assert (await ledger.status()).reserved_usd == Decimal("0.02")


async def test_a_commit_its_caller_stopped_waiting_for_still_lands_before_the_next_call(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock(), wait_seconds=2.0) as store:
        ledger = store.ledger(Decimal("0.10"))
        reservation = await ledger.reserve(Decimal("0.02"), label="edit")
        with held(database(tmp_path)):
            with anyio.move_on_after(0.1) as scope:
                await ledger.commit(reservation, "pred-1")
            assert scope.cancelled_caught  # the caller answered on time; the commit's thread is still waiting
        # The next call waits for that thread rather than sharing the connection with it, and sees its commit.
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), 0)


async def test_a_corrupt_database_is_a_warning_at_start_and_refuses_every_reservation_until_moved_aside(
    tmp_path: Path,
) -> None:
    database(tmp_path).write_bytes(b"this is not SQLite " * 200)
    store = open_store(None, tmp_path, wall_clock=wall_clock().now, wait_seconds=WAIT)
    try:
        [warning] = await store.open()
        assert str(database(tmp_path)) in warning
        assert "not a database" in warning
        ledger = store.ledger(Decimal("0.10"))
        for call in (ledger.reserve(Decimal("0.02"), label="edit"), ledger.status()):
            with pytest.raises(LedgerUnavailable) as failed:
                await call
            assert str(database(tmp_path)) in failed.value.message
            assert "not a database" in failed.value.message
            assert "nothing was sent" in failed.value.message

        database(tmp_path).rename(tmp_path / "damaged.sqlite3")  # the operator's choice: a new, empty ledger
        await ledger.reserve(Decimal("0.02"), label="edit")
    finally:
        await store.aclose()


async def test_a_read_only_database_refuses_reservations_and_still_reports_the_status(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock()) as store:
        await store.ledger(Decimal("0.10")).reserve(Decimal("0.02"), label="before")
    with unwritable(database(tmp_path)):
        async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
            ledger = store.ledger(Decimal("0.10"))
            with pytest.raises(LedgerUnavailable) as failed:
                await ledger.reserve(Decimal("0.02"), label="edit")
            assert f"The spend ledger in {database(tmp_path)}" in failed.value.message
            assert "read-only: the file or its folder cannot be written" in failed.value.message
            assert (await ledger.status()).reserved_usd == Decimal("0.02")


async def test_two_stores_in_one_process_share_the_limit(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as one, opened(tmp_path, clock) as other:
        granted_one, _ = await reserve_concurrently(one.ledger(Decimal("0.10")), "0.02", 4)
        granted_other, _ = await reserve_concurrently(other.ledger(Decimal("0.10")), "0.02", 4)
        assert len(granted_one) + len(granted_other) == 5
        with pytest.raises(SpendLimitExceeded):
            await one.ledger(Decimal("0.10")).reserve(Decimal("0.01"), label="one more")
