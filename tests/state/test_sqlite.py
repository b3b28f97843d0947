"""The SQLite store itself: what opening it creates, how it refuses when the database will not cooperate (held,
damaged, read-only, nowhere to put it, made by a newer version), and how old rows are deleted so the file stays
bounded. Time is a fake wall clock, except for the waits on a lock held for real."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import DAY, START, wall_clock
from sqlite_helpers import database, held, opened, rows, unwritable

from fakes import FakeClock
from qwen_image_edit_mcp.state.store import (
    BLOB_KEEP_SECONDS,
    JOURNAL_KEEP_SECONDS,
    JOURNAL_MAX_JOBS,
    UPLOAD_KEEP_SECONDS,
    JobRecord,
    Store,
    StoreUnavailable,
    open_store,
)

pytestmark = pytest.mark.anyio

WAIT = 0.2


def record(job_id: str, at: float) -> JobRecord:
    return JobRecord(job_id=job_id, model_id="wavespeed-ai/qwen-image/edit", price_usd=Decimal("0.02"), created_at=at)


def every_call(store: Store) -> list[Callable[[], Awaitable[object]]]:
    """One of each journal and upload-cache call."""
    return [
        lambda: store.journal.begin(record("job-1", START)),
        lambda: store.journal.started("job-1", "pred-1"),
        lambda: store.journal.get("pred-1"),
        lambda: store.journal.known(["pred-1"]),
        lambda: store.journal.hand_out("pred-1", ["https://cdn.example/a.png"]),
        lambda: store.journal.handed_out("https://cdn.example/a.png"),
        lambda: store.journal.keep_composite("pred-1", []),
        lambda: store.journal.put_blob(b"bytes"),
        lambda: store.journal.get_blob("0" * 64),
        lambda: store.uploads.get("api|abc"),
        lambda: store.uploads.put("api|abc", "https://cdn.example/abc.png"),
        lambda: store.texts.get("catalog|api"),
        lambda: store.texts.put("catalog|api", "[]", seconds=60),
    ]


async def test_opening_creates_the_folder_and_the_schema_and_the_store_says_where_it_is(tmp_path: Path) -> None:
    cache = tmp_path / "not" / "yet" / "there"
    async with opened(cache, wall_clock()) as store:
        assert store.description == f"SQLite at {database(cache)}"
        assert "nothing to acknowledge" in (await store.acknowledge_reset()).lower()
    with closing(sqlite3.connect(database(cache))) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (3,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "ledger", "uploads", "jobs", "handed_out", "blobs", "texts", "tasks"}


async def test_a_first_version_file_gains_the_shared_text_table_and_keeps_its_rows(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        await store.uploads.put("api|abc", "https://cdn.example/abc.png")
    with closing(sqlite3.connect(database(tmp_path))) as connection:
        connection.execute("DROP TABLE texts")
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
    async with opened(tmp_path, clock) as store:
        assert await store.uploads.get("api|abc") == "https://cdn.example/abc.png"
        await store.texts.put("k", "v", seconds=60)
        assert await store.texts.get("k") == "v"


async def test_shared_text_expires_after_its_seconds_and_is_then_deleted(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        await store.texts.put("old", "a", seconds=60)
        clock.advance(61)
        assert await store.texts.get("old") is None
        await store.texts.put("new", "b", seconds=60)
    assert rows(database(tmp_path), "SELECT key FROM texts") == [("new",)]


async def test_a_held_lock_refuses_recording_a_job_within_the_wait_naming_the_file_then_lets_it_through(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
        with held(database(tmp_path)):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as failed:
                await store.journal.begin(record("job-1", START))
            assert WAIT * 0.9 <= time.monotonic() - started < WAIT + 1.0
            assert await store.journal.get("pred-1") is None  # reads go on: WAL readers never wait for a writer
        assert failed.value.message == (
            f"The store {database(tmp_path)} could not be read or written (busy: another process held it for more "
            "than 0.2 s) while recording a job before its submit: nothing was done."
        )
        await store.journal.begin(record("job-1", START))
        await store.journal.started("job-1", "pred-1")
        assert await store.journal.known(["pred-1"]) == {"pred-1"}


async def test_a_corrupt_database_is_a_warning_at_start_and_every_call_refuses_naming_the_file(tmp_path: Path) -> None:
    database(tmp_path).write_bytes(b"\x00garbage, not SQLite" * 300)
    store = open_store(None, tmp_path, wall_clock=wall_clock().now, wait_seconds=WAIT)
    try:
        [warning] = await store.open()
        assert warning.startswith(f"The store {database(tmp_path)} could not be read or written (not a database")
        assert "tools that need none of them still work" in warning
        for call in every_call(store):
            with pytest.raises(StoreUnavailable, match="not a database") as failed:
                await call()
            assert str(database(tmp_path)) in failed.value.message
    finally:
        await store.aclose()


async def test_a_read_only_database_answers_reads_and_refuses_writes_saying_so(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock()) as store:
        await store.uploads.put("api|abc", "https://cdn.example/abc.png")
    with unwritable(database(tmp_path)):
        async with opened(tmp_path, wall_clock(), wait_seconds=WAIT) as store:
            assert await store.uploads.get("api|abc") == "https://cdn.example/abc.png"
            with pytest.raises(StoreUnavailable) as failed:
                await store.journal.begin(record("job-1", START))
            assert failed.value.message == (
                f"The store {database(tmp_path)} could not be read or written (read-only: the file or its folder "
                "cannot be written) while recording a job before its submit: nothing was done."
            )


async def test_a_folder_that_cannot_be_created_is_a_warning_and_then_a_clear_refusal(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    store = open_store(None, tmp_path / "a-file" / "cache", wall_clock=wall_clock().now)
    try:
        [warning] = await store.open()
        assert f"its folder {tmp_path / 'a-file' / 'cache'} cannot be created or used" in warning
        with pytest.raises(StoreUnavailable, match="cannot be created or used"):
            await store.uploads.put("api|abc", "https://cdn.example/abc.png")
    finally:
        await store.aclose()


async def test_a_database_from_a_newer_version_is_refused_not_rewritten(tmp_path: Path) -> None:
    with closing(sqlite3.connect(database(tmp_path))) as connection:
        connection.execute("PRAGMA user_version = 99")
    store = open_store(None, tmp_path, wall_clock=wall_clock().now)
    try:
        [warning] = await store.open()
        assert "made by a newer version of this server (schema 99)" in warning
    finally:
        await store.aclose()
    assert rows(database(tmp_path), "SELECT name FROM sqlite_master") == []


async def test_a_damaged_job_record_refuses_the_read_rather_than_guessing(tmp_path: Path) -> None:
    async with opened(tmp_path, wall_clock()) as store:
        await store.journal.begin(record("job-1", START))
        await store.journal.started("job-1", "pred-1")
        with closing(sqlite3.connect(database(tmp_path))) as connection, connection:
            connection.execute("UPDATE jobs SET record = '{\"job_id\": 1}'")
        with pytest.raises(StoreUnavailable, match="a record in it is damaged"):
            await store.journal.get("pred-1")


async def test_old_rows_are_deleted_at_most_once_a_minute(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        await store.uploads.put("a", "https://cdn.example/a.png")
        clock.advance(30)
        await store.uploads.put("b", "https://cdn.example/b.png")
        clock.current = START + UPLOAD_KEEP_SECONDS
        await store.uploads.put("c", "https://cdn.example/c.png")
        assert _keys(tmp_path) == ["b", "c"]  # a is 7 days old: gone
        clock.advance(40)
        await store.uploads.put("d", "https://cdn.example/d.png")
        assert _keys(tmp_path) == ["b", "c", "d"]  # b is too by now, but the last pruning was 40 s ago
        clock.advance(20)
        await store.uploads.put("e", "https://cdn.example/e.png")
        assert _keys(tmp_path) == ["c", "d", "e"]


def _keys(cache: Path) -> list[str]:
    return [key for (key,) in rows(database(cache), "SELECT key FROM uploads ORDER BY uploaded_at")]


async def test_a_blob_lasts_seven_days_from_when_it_was_last_kept(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        key = await store.journal.put_blob(b"input")
        clock.advance(6 * DAY)
        assert await store.journal.put_blob(b"input") == key  # kept again: seven days from now
        clock.advance(2 * DAY)
        assert await store.journal.get_blob(key) == b"input"
        clock.advance(BLOB_KEEP_SECONDS)
        assert await store.journal.get_blob(key) is None
        await store.journal.put_blob(b"another")
        assert rows(database(tmp_path), "SELECT count(*) FROM blobs") == [(1,)]


async def test_urls_handed_out_are_forgotten_after_30_days(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        await store.journal.hand_out(None, ["https://cdn.example/old.png"])
        clock.advance(JOURNAL_KEEP_SECONDS + 1)
        assert not await store.journal.handed_out("https://cdn.example/old.png")
        await store.journal.hand_out(None, ["https://cdn.example/new.png"])
        assert rows(database(tmp_path), "SELECT url FROM handed_out") == [("https://cdn.example/new.png",)]


async def test_the_journal_keeps_at_most_its_cap_of_jobs_dropping_the_oldest_first(tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        await store.journal.begin(record("job-first", START))
        with closing(sqlite3.connect(database(tmp_path))) as connection, connection:
            connection.executemany(
                "INSERT INTO jobs (job_id, prediction_id, created_at, record) VALUES (?, ?, ?, '{}')",
                [(f"job-{n}", f"pred-{n}", START + n) for n in range(1, JOURNAL_MAX_JOBS + 10)],
            )
        _move_on(clock)
        await store.journal.begin(record("job-last", clock.now()))
    assert rows(database(tmp_path), "SELECT count(*) FROM jobs") == [(JOURNAL_MAX_JOBS,)]
    oldest = rows(database(tmp_path), "SELECT job_id FROM jobs ORDER BY created_at LIMIT 1")
    assert oldest == [("job-11",)]  # job-first and job-1 to job-10 went
    assert rows(database(tmp_path), "SELECT count(*) FROM jobs WHERE job_id = 'job-last'") == [(1,)]


def _move_on(clock: FakeClock) -> None:
    clock.current = START + JOURNAL_MAX_JOBS + 3600  # past every job above, and past the once-a-minute pause
