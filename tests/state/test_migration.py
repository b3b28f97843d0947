"""The old files moving into the SQLite store at its first open: spend.json's live entries and uploads.json's
reusable uploads, nothing lost, each file renamed after and never imported twice; an unreadable spend.json blocks
the whole limit for 24 h, as the file ledger did. Time is a fake wall clock."""

from __future__ import annotations

import fcntl
import json
import logging
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import DAY, START, wall_clock
from sqlite_helpers import database, opened, rows

from qwen_image_edit_mcp.state import migration
from qwen_image_edit_mcp.state.ledger import LEASE_SECONDS, Entry, LedgerUnavailable, SpendLimitExceeded, to_reservation
from qwen_image_edit_mcp.state.migration import old_uploads, retire
from qwen_image_edit_mcp.state.store import UPLOAD_REUSE_SECONDS, open_store

pytestmark = pytest.mark.anyio

SPENT = Entry(
    id="spent-1",
    label="edit",
    micros=20_000,
    state="spent",
    reserved_at=START - 3600,
    lease_until=START - 3600 + LEASE_SECONDS,
    ends=START - 3000 + DAY,
    prediction_id="pred-1",
)
HELD = Entry(
    id="held-1",
    label="edit in progress",
    micros=30_000,
    state="reserved",
    reserved_at=START - 60,
    lease_until=START - 60 + LEASE_SECONDS,
    ends=START - 60 + LEASE_SECONDS + DAY,
)
AGED = SPENT.model_copy(update={"id": "aged-1", "ends": START - 1})


def write_old_files(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    entries = [entry.model_dump() for entry in (SPENT, HELD, AGED)]
    (cache / "spend.json").write_text(json.dumps({"version": 1, "entries": entries}))
    (cache / "spend.json.lock").write_text("")
    uploads = {
        "api|fresh": {"url": "https://cdn.example/fresh.png", "expires": START + 5 * DAY},
        "api|stale": {"url": "https://cdn.example/stale.png", "expires": START - 1},
        "api|odd": {"url": 42, "expires": START + DAY},
    }
    (cache / "uploads.json").write_text(json.dumps(uploads))


async def test_both_old_files_move_into_the_store_with_nothing_live_lost(tmp_path: Path) -> None:
    write_old_files(tmp_path)
    clock = wall_clock()
    async with opened(tmp_path, clock) as store:
        ledger = store.ledger(Decimal("0.10"))
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), Decimal("0.03"))
        await ledger.release(to_reservation(HELD))  # a reservation made by the file ledger can still be settled
        assert (await ledger.status()).remaining_usd == Decimal("0.08")
        assert await store.uploads.get("api|fresh") == "https://cdn.example/fresh.png"
        assert await store.uploads.get("api|stale") is None
        clock.advance(5 * DAY)  # the old file's expiry still holds: six days from the upload
        assert await store.uploads.get("api|fresh") is None

    stored = rows(database(tmp_path), "SELECT id, micros, ends, prediction_id FROM ledger")
    assert stored == [("spent-1", 20_000, SPENT.ends, "pred-1")]
    uploaded = rows(database(tmp_path), "SELECT key, uploaded_at FROM uploads")
    assert uploaded == [("api|fresh", START + 5 * DAY - UPLOAD_REUSE_SECONDS)]
    names = sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith("store.sqlite3"))
    assert names == ["spend.json.lock", "spend.json.migrated", "uploads.json.migrated"]


async def test_a_second_open_finds_nothing_to_do_and_a_file_read_twice_changes_nothing(tmp_path: Path) -> None:
    write_old_files(tmp_path)
    async with opened(tmp_path, wall_clock()):
        pass
    before = rows(database(tmp_path), "SELECT * FROM ledger ORDER BY id") + rows(
        database(tmp_path), "SELECT * FROM uploads"
    )
    async with opened(tmp_path, wall_clock()):
        pass
    # A crash between the import and the rename leaves the file in place: it is read again, to no effect.
    shutil.copy(tmp_path / "spend.json.migrated", tmp_path / "spend.json")
    shutil.copy(tmp_path / "uploads.json.migrated", tmp_path / "uploads.json")
    async with opened(tmp_path, wall_clock()):
        pass
    after = rows(database(tmp_path), "SELECT * FROM ledger ORDER BY id") + rows(
        database(tmp_path), "SELECT * FROM uploads"
    )
    assert after == before
    assert not (tmp_path / "spend.json").exists()
    assert not (tmp_path / "uploads.json").exists()


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"version": 2, "entries": []}', b'{"entries": [{"id": 1}]}'])
async def test_an_unreadable_spend_file_is_kept_aside_and_the_whole_limit_counts_as_spent_for_24_hours(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "spend.json").write_bytes(content)
    aside = tmp_path / f"spend.json.corrupt-{int(START)}"
    clock = wall_clock()
    with caplog.at_level(logging.WARNING, logger="qwen_image_edit_mcp.state.migration"):
        async with opened(tmp_path, clock) as store:
            with pytest.raises(SpendLimitExceeded, match=re.escape("Spent in the last 24 h: $0.10.")) as refused:
                await store.ledger(Decimal("0.10")).reserve(Decimal("0.02"), label="edit")
    assert refused.value.message.endswith(
        f"The whole limit counts as spent until 2025-11-25T16:00:00Z: the old spend ledger was unreadable and is "
        f"kept as {aside}."
    )
    assert aside.read_bytes() == content
    assert "the whole spend limit counts as spent until 2025-11-25T16:00:00Z" in caplog.text

    async with opened(tmp_path, clock) as store:  # a restart does not forget the block, whatever the limit
        status = await store.ledger(Decimal("0.50")).status()
        assert (status.spent_usd, status.remaining_usd) == (Decimal("0.50"), 0)
        clock.advance(DAY)
        assert (await store.ledger(Decimal("0.50")).status()).remaining_usd == Decimal("0.50")
        await store.ledger(Decimal("0.50")).reserve(Decimal("0.02"), label="a day later")


async def test_an_unreadable_upload_cache_is_logged_renamed_and_nothing_imported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "uploads.json").write_text("[1, 2")
    with caplog.at_level(logging.WARNING, logger="qwen_image_edit_mcp.state.migration"):
        async with opened(tmp_path, wall_clock()) as store:
            assert (await store.ledger(Decimal("0.10")).status()).remaining_usd == Decimal("0.10")
    assert f"the old upload cache {tmp_path / 'uploads.json'} is unreadable" in caplog.text
    assert rows(database(tmp_path), "SELECT count(*) FROM uploads") == [(0,)]
    assert (tmp_path / "uploads.json.migrated").read_text() == "[1, 2"


def test_old_uploads_and_retire_serve_any_store(tmp_path: Path) -> None:
    write_old_files(tmp_path)
    assert old_uploads(tmp_path, START) == [
        ("api|fresh", "https://cdn.example/fresh.png", START - DAY)
    ]  # six days before it stopped being reused
    assert old_uploads(tmp_path / "elsewhere", START) == []
    retire(tmp_path / "uploads.json")
    retire(tmp_path / "uploads.json")  # already gone: nothing to do
    assert not (tmp_path / "uploads.json").exists()
    assert old_uploads(tmp_path, START) == []
    assert json.loads((tmp_path / "uploads.json.migrated").read_text())["api|fresh"]["expires"] == START + 5 * DAY


async def test_an_older_server_holding_the_old_ledger_delays_the_move_and_nothing_it_spent_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migration, "LOCK_SECONDS", 0.2)
    write_old_files(tmp_path)
    clock = wall_clock()
    store = open_store(None, tmp_path, wall_clock=clock.now, wait_seconds=1.0)
    with (tmp_path / "spend.json.lock").open("a+b") as held:  # an old file ledger, mid-write in another process
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        (warning,) = await store.open()
        assert "an older server held" in warning
        assert (tmp_path / "spend.json").exists()  # nothing read, nothing renamed while it is held
        with pytest.raises(LedgerUnavailable, match="an older server held"):
            await store.ledger(Decimal("0.10")).reserve(Decimal("0.02"), label="edit")
    status = await store.ledger(Decimal("0.10")).status()  # released: the next call moves the file in
    assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), Decimal("0.03"))
    assert (tmp_path / "spend.json.migrated").exists()
    await store.aclose()
