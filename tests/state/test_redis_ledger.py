"""The Redis store's spend ledger against a real redis-server on loopback: the same limits as the other ledgers, the
reservation atomic across two processes, dated by Redis's own clock, a lost ledger refused until the operator
acknowledges it, and a password that never reaches a message. Skipped, saying why, where redis-server or the redis
package is missing; with CI=true those are failures instead."""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from ledger_helpers import DAY, START, reserve_concurrently, run_workers, wall_clock

from fakes import FakeClock
from http_harness import free_port
from qwen_image_edit_mcp.state.ledger import (
    LEASE_SECONDS,
    LedgerSettingsError,
    LedgerUnavailable,
    SpendLimitExceeded,
    open_ledger,
    to_micros,
)
from qwen_image_edit_mcp.state.redis_epochs import EPOCH_FILE
from qwen_image_edit_mcp.state.redis_ledger import KEY_PREFIX, RedisLedger, redact
from qwen_image_edit_mcp.state.store import Store, StoreUnavailable, open_store
from redis_server import PASSWORD, running_redis, unavailable

if TYPE_CHECKING:
    import redis

pytestmark = pytest.mark.anyio
ACKNOWLEDGE = "qwen-image-edit-mcp --acknowledge-ledger-reset"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


@asynccontextmanager
async def opened(url: str, cache_dir: Path, clock: FakeClock | None) -> AsyncGenerator[Store]:
    """A store as one process opens it: `cache_dir` is its machine's, `clock` None means Redis's own TIME."""
    store = open_store(url, cache_dir, wall_clock=None if clock is None else clock.now)
    await store.open()
    try:
        yield store
    finally:
        await store.aclose()


@contextmanager
def redis_client(url: str) -> Generator[redis.Redis]:
    import redis  # here, not at the top: the module must load (and skip) without the package

    client = redis.Redis.from_url(url, decode_responses=True)  # pyright: ignore[reportUnknownMemberType]
    try:
        yield client
    finally:
        client.close()


def flush_all(url: str) -> None:
    with redis_client(url) as client:
        client.flushall()  # pyright: ignore[reportUnknownMemberType]  (untyped **kwargs)


def stored_totals(url: str) -> tuple[int, int]:
    """(the running total, the sum of the stored entries) in micro-dollars: the scripts must keep them equal."""
    with redis_client(url) as client:
        total = cast("str | None", client.get(f"{KEY_PREFIX}:total"))
        entries = cast("list[str]", client.hvals(f"{KEY_PREFIX}:entries"))
    return int(total or 0), sum(json.loads(raw)["micros"] for raw in entries)


async def test_reserve_commit_release_and_the_rolling_window(redis_url: str, tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(redis_url, tmp_path, clock) as store:
        ledger = store.ledger(Decimal("0.04"))
        first = await ledger.reserve(Decimal("0.02"), label="a")
        assert (first.reserved_at, first.lease_until) == (START, START + LEASE_SECONDS)
        await ledger.commit(first, "pred-a")
        await ledger.release(first)  # committed: stays spent
        clock.advance(100)
        second = await ledger.reserve(Decimal("0.02"), label="b")
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (Decimal("0.02"), Decimal("0.02"), 0)

        with pytest.raises(SpendLimitExceeded) as refused:
            await ledger.reserve(Decimal("0.02"), label="c")
        assert "Spent in the last 24 h: $0.02, plus $0.02 reserved by edits in progress." in refused.value.message
        assert "Room for it frees up at 2025-11-25T16:00:00Z (in 1439 min)." in refused.value.message

        await ledger.release(second)
        await ledger.commit(await ledger.reserve(Decimal("0.02"), label="d"), "pred-d")
        clock.current = START + DAY - 0.001
        with pytest.raises(SpendLimitExceeded):
            await ledger.reserve(Decimal("0.02"), label="too early")
        clock.current = START + DAY  # the oldest spend turns 24 h old: exactly its room frees
        await ledger.reserve(Decimal("0.02"), label="just in time")
    assert stored_totals(redis_url) == (40_000, 40_000)


async def test_a_late_commit_adds_the_spend_back(redis_url: str, tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(redis_url, tmp_path, clock) as store:
        ledger = store.ledger(Decimal("0.04"))
        slow = await ledger.reserve(Decimal("0.02"), label="slow submit")
        clock.advance(LEASE_SECONDS + DAY)
        await ledger.reserve(Decimal("0.02"), label="prunes the stale one")
        assert stored_totals(redis_url) == (20_000, 20_000)
        await ledger.commit(slow, "pred-late")  # the submit still returned an id: the money was spent
        assert stored_totals(redis_url) == (40_000, 40_000)
        await ledger.commit(slow, "pred-late")  # a second commit does not count it twice
        assert stored_totals(redis_url) == (40_000, 40_000)
        with pytest.raises(SpendLimitExceeded):
            await ledger.reserve(Decimal("0.02"), label="full")


async def test_a_lease_that_runs_out_counts_as_spent_and_survives_a_restart(redis_url: str, tmp_path: Path) -> None:
    clock = wall_clock()
    async with opened(redis_url, tmp_path, clock) as before:
        await before.ledger(Decimal("0.02")).reserve(Decimal("0.02"), label="died mid-submit")
    clock.advance(LEASE_SECONDS)
    async with opened(redis_url, tmp_path, clock) as restarted:
        ledger = restarted.ledger(Decimal("0.02"))
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), 0)
        with pytest.raises(SpendLimitExceeded) as refused:
            await ledger.reserve(Decimal("0.02"), label="next")
        assert refused.value.frees_at == datetime.fromtimestamp(START + LEASE_SECONDS + DAY, UTC)
        clock.current = START + LEASE_SECONDS + DAY
        await ledger.reserve(Decimal("0.02"), label="room again")
    assert stored_totals(redis_url) == (20_000, 20_000)


async def test_32_concurrent_reservations_at_the_edge_of_the_limit_grant_exactly_15(
    redis_url: str, tmp_path: Path
) -> None:
    async with opened(redis_url, tmp_path, wall_clock()) as store:
        ledger = store.ledger(Decimal("0.30"))
        granted, refused = await reserve_concurrently(ledger, "0.02", 32)
        assert (len(granted), refused) == (15, 17)
        status = await ledger.status()
        assert (status.reserved_usd, status.remaining_usd) == (Decimal("0.30"), 0)


def test_two_processes_bursting_on_one_redis_never_pass_the_limit(redis_url: str) -> None:
    results = run_workers(["redis", redis_url, "0.30", "0.02", "32", "burst"])
    assert sum(result["ok"] for result in results) == 15
    assert sum(result["refused"] for result in results) == 64 - 15
    assert max(result["max_seen_micros"] for result in results) <= to_micros(Decimal("0.30"))
    assert stored_totals(redis_url) == (300_000, 300_000)


async def test_two_processes_churning_on_one_redis_never_pass_the_limit(redis_url: str, tmp_path: Path) -> None:
    results = run_workers(["redis", redis_url, "0.30", "0.02", "16", "churn"])
    assert sum(result["ok"] for result in results) >= 15
    assert max(result["max_seen_micros"] for result in results) <= to_micros(Decimal("0.30"))
    async with opened(redis_url, tmp_path, None) as store:
        assert (await store.ledger(Decimal("0.30")).status()).reserved_usd == 0  # every reservation was released
    assert stored_totals(redis_url) == (0, 0)


async def test_redis_time_dates_the_ledger_whatever_the_process_clock_says(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, ahead = time.time, [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + ahead[0])  # before the store exists: whatever keeps it sees it
    async with opened(redis_url, tmp_path, None) as store:
        ledger = store.ledger(Decimal("0.04"))
        before = real()
        first = await ledger.reserve(Decimal("0.02"), label="honest")
        await ledger.commit(first, "pred-1")
        await ledger.reserve(Decimal("0.02"), label="in flight")
        assert before - 5 <= first.reserved_at <= real() + 5  # Redis's clock, on this machine the same as ours
        ahead[0] = 25 * 3600  # this process is suddenly a day ahead
        with pytest.raises(SpendLimitExceeded):
            await ledger.reserve(Decimal("0.02"), label="a day ahead")
        status = await ledger.status()
        assert (status.spent_usd, status.reserved_usd) == (Decimal("0.02"), Decimal("0.02"))
        assert status.frees_at is not None
        assert status.frees_at.timestamp() < real() + DAY + LEASE_SECONDS + 5
    assert stored_totals(redis_url) == (40_000, 40_000)  # nothing was pruned


async def test_a_flushall_refuses_the_next_reservation_until_the_reset_is_acknowledged(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = wall_clock()
    async with opened(redis_url, tmp_path, clock) as store:
        ledger = store.ledger(Decimal("0.04"))
        for prediction in ("pred-1", "pred-2"):
            await ledger.commit(await ledger.reserve(Decimal("0.02"), label="edit"), prediction)
        with pytest.raises(SpendLimitExceeded):
            await ledger.reserve(Decimal("0.02"), label="over the limit")
        flush_all(redis_url)  # a restart without persistence, an eviction, a mistake
        for attempt in (partial(ledger.reserve, Decimal("0.02"), label="after the loss"), ledger.status):
            with pytest.raises(LedgerUnavailable) as lost:
                await attempt()
            message = lost.value.message
            assert "lost its data: the marker written with its first reservation is gone" in message
            assert ACKNOWLEDGE in message
            assert "QWEN_EDIT_STORE_URL" in message
            assert "redis://:***@127.0.0.1" in message
            assert PASSWORD not in message
        assert stored_totals(redis_url) == (0, 0)  # nothing was reserved

        async with opened(redis_url, tmp_path, clock) as command:  # the operator's command, on the same machine
            said = await command.acknowledge_reset()
        assert said.startswith("Acknowledged: the spend ledger in Redis at redis://:***@127.0.0.1")
        assert "0 entries, $0.00 counting against the limit" in said
        with caplog.at_level(logging.WARNING):
            await ledger.reserve(Decimal("0.02"), label="resumed")
        assert "reset acknowledged" in caplog.text
        await ledger.reserve(Decimal("0.02"), label="from what it holds now")
    assert stored_totals(redis_url) == (40_000, 40_000)


async def test_a_process_that_remembers_nothing_cannot_hide_a_lost_ledger(redis_url: str, tmp_path: Path) -> None:
    clock = wall_clock()
    one, other = tmp_path / "one", tmp_path / "other"  # two machines' cache folders
    async with opened(redis_url, one, clock) as store:
        await store.ledger(Decimal("1")).reserve(Decimal("0.02"), label="before")
    assert PASSWORD not in (one / EPOCH_FILE).read_text()
    flush_all(redis_url)
    async with opened(redis_url, other, clock) as fresh:  # a new replica: it starts the ledger afresh
        await fresh.ledger(Decimal("1")).reserve(Decimal("0.02"), label="fresh")
    async with opened(redis_url, one, clock) as restarted:  # the first one, restarted, still remembers
        with pytest.raises(LedgerUnavailable, match="which nobody acknowledged"):
            await restarted.ledger(Decimal("1")).reserve(Decimal("0.02"), label="after a restart")
        await restarted.acknowledge_reset()
        await restarted.ledger(Decimal("1")).reserve(Decimal("0.02"), label="acknowledged")
    async with opened(redis_url, other, clock) as fresh:  # it adopts the acknowledged epoch too
        await fresh.ledger(Decimal("1")).reserve(Decimal("0.02"), label="fresh again")
    assert stored_totals(redis_url) == (60_000, 60_000)


@pytest.mark.parametrize(
    ("lost_keys", "cause"),
    [
        (["total"], "its running total is gone while 1 entries remain"),
        (["entries"], "it holds 0 entries but 1 in the index"),
        (["ends", "entries"], "its entries are gone while its running total still holds $0.02"),
        (["ends", "entries", "total"], "its entries are gone although the last of them counted until 2025-11-25T16:15"),
    ],
)
async def test_a_ledger_that_disagrees_with_itself_refuses_until_acknowledged(
    redis_url: str, tmp_path: Path, lost_keys: list[str], cause: str
) -> None:
    clock = wall_clock()
    async with opened(redis_url, tmp_path, clock) as store:
        ledger = store.ledger(Decimal("1"))
        await ledger.reserve(Decimal("0.02"), label="kept")
        with redis_client(redis_url) as client:
            client.delete(*(f"{KEY_PREFIX}:{key}" for key in lost_keys))  # an eviction that spared the marker
        with pytest.raises(LedgerUnavailable) as broken:
            await ledger.reserve(Decimal("0.02"), label="refused")
        assert f"lost its data: {cause}" in broken.value.message
        assert ACKNOWLEDGE in broken.value.message
        assert "entries" in await store.acknowledge_reset()
        await ledger.reserve(Decimal("0.02"), label="repaired")
    total, summed = stored_totals(redis_url)
    assert total == summed  # the acknowledgement rebuilt the total from what was left


async def test_an_epoch_that_cannot_be_remembered_is_a_warning_not_a_refusal(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        async with opened(redis_url, not_a_folder, wall_clock()) as store:
            await store.ledger(Decimal("1")).reserve(Decimal("0.02"), label="edit")
    assert "could not remember the spend ledger's epoch" in caplog.text


async def test_the_keys_an_older_version_wrote_are_read_as_they_are(redis_url: str, tmp_path: Path) -> None:
    entry = {"id": "old", "label": "before the upgrade", "micros": 30_000, "state": "spent"}
    entry |= {"reserved_at": START - 60, "lease_until": START + 840, "ends": START + DAY - 60, "prediction_id": "p"}
    with redis_client(redis_url) as client:  # no marker: the version before it wrote none
        client.hset(f"{KEY_PREFIX}:entries", "old", json.dumps(entry))
        client.zadd(f"{KEY_PREFIX}:ends", {"old": entry["ends"]})
        client.set(f"{KEY_PREFIX}:total", "30000")
    async with opened(redis_url, tmp_path, wall_clock()) as store:
        ledger = store.ledger(Decimal("0.04"))
        with pytest.raises(SpendLimitExceeded, match=r"Spent in the last 24 h: \$0.03"):
            await ledger.reserve(Decimal("0.02"), label="new")
        await ledger.reserve(Decimal("0.01"), label="fits")
    assert stored_totals(redis_url) == (40_000, 40_000)


async def test_an_unreachable_redis_refuses_without_showing_the_password(tmp_path: Path) -> None:
    if importlib.util.find_spec("redis") is None:
        unavailable("the redis package is not installed (pip install -e '.[test]')")
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    async with opened(url, tmp_path, None) as store:
        with pytest.raises(LedgerUnavailable) as failed:
            await store.ledger(Decimal("1")).reserve(Decimal("0.02"), label="edit")
        with pytest.raises(StoreUnavailable) as not_acknowledged:
            await store.acknowledge_reset()
    assert "nothing was sent" in failed.value.message
    assert f"redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in failed.value.message
    assert PASSWORD not in failed.value.message + not_acknowledged.value.message


async def test_a_wrong_password_is_reported_without_echoing_it(redis_url: str, tmp_path: Path) -> None:
    wrong = redis_url.replace(PASSWORD, "not-the-password-77")
    async with opened(wrong, tmp_path, wall_clock()) as store:
        with pytest.raises(LedgerUnavailable) as failed:
            await store.ledger(Decimal("1")).status()
    assert "not-the-password-77" not in failed.value.message
    assert "redis://:***@127.0.0.1" in failed.value.message


def test_passwords_are_redacted_wherever_a_url_can_hold_one() -> None:
    assert redact("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("rediss://user:s3cret@host/1") == "rediss://user:***@host/1"
    assert redact("unix:///run/redis.sock?db=0&password=s3cret") == "unix:///run/redis.sock?db=0&password=***"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
    assert "{spend}" in KEY_PREFIX  # one hash tag: a Redis Cluster keeps the ledger's keys in one slot


def test_open_ledger_picks_redis_for_a_url_and_rejects_other_schemes(tmp_path: Path) -> None:
    if importlib.util.find_spec("redis") is None:
        unavailable("the redis package is not installed (pip install -e '.[test]')")
    ledger = open_ledger(Decimal("5"), tmp_path, "redis://:s3cret@127.0.0.1:1/0")
    assert isinstance(ledger, RedisLedger)
    assert ledger.url == "redis://:***@127.0.0.1:1/0"
    with pytest.raises(LedgerSettingsError, match=r"redis://, rediss:// or unix://") as refused:
        open_ledger(Decimal("5"), tmp_path, "http://:s3cret@example.com")
    assert "s3cret" not in str(refused.value)


def test_without_the_redis_extra_a_url_is_a_settings_error_and_the_server_still_imports(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['redis'] = None\n"  # as if the package were not installed
        "import importlib, pkgutil, qwen_image_edit_mcp as package\n"
        "for module in pkgutil.walk_packages(package.__path__, 'qwen_image_edit_mcp.'):\n"
        "    importlib.import_module(module.name)\n"  # every module of the server, whatever the layout
        "from decimal import Decimal\n"
        "from pathlib import Path\n"
        "from qwen_image_edit_mcp.state.ledger import LedgerSettingsError, open_ledger\n"
        "from qwen_image_edit_mcp.state.store import StoreUnavailable, open_store\n"
        "assert open_ledger(Decimal('1'), Path(sys.argv[1]), None) is not None\n"
        "try:\n"
        "    open_ledger(Decimal('1'), Path(sys.argv[1]), 'redis://127.0.0.1:1/0')\n"
        "except LedgerSettingsError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    open_store('redis://127.0.0.1:1/0', Path(sys.argv[1]))\n"
        "except StoreUnavailable as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("pip install 'qwen-image-edit-mcp[redis]'") == 2


def test_a_missing_redis_skips_visibly_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the Redis ledger tests"):
        unavailable("redis-server is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        unavailable("redis-server is not installed")
