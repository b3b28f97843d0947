"""The Redis store's spend ledger against a real redis-server on loopback: the same limits as the other ledgers, the
reservation atomic across two processes and dated by Redis's own clock, and a password that never reaches a message
(test_redis_ledger_loss.py: a ledger that lost its data). Skipped, saying why, where redis-server or the redis package
is missing; with CI=true those are failures instead."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import DAY, START, reserve_concurrently, run_workers, wall_clock
from redis_helpers import opened, stored_totals

from http_harness import free_port
from qwen_image_edit_mcp.state.ledger import (
    LEASE_SECONDS,
    LedgerUnavailable,
    SpendLimitExceeded,
    to_micros,
)
from qwen_image_edit_mcp.state.redis_ledger import KEY_PREFIX, redact
from qwen_image_edit_mcp.state.store import StoreUnavailable
from redis_server import PASSWORD, running_redis, unavailable

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


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


def test_without_the_redis_extra_a_redis_store_is_refused_and_the_server_still_imports(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['redis'] = None\n"  # as if the package were not installed
        "import importlib, pkgutil, qwen_image_edit_mcp as package\n"
        "for module in pkgutil.walk_packages(package.__path__, 'qwen_image_edit_mcp.'):\n"
        "    importlib.import_module(module.name)\n"  # every module of the server, whatever the layout
        "from decimal import Decimal\n"
        "from pathlib import Path\n"
        "from qwen_image_edit_mcp.state.store import StoreUnavailable, open_store\n"
        "assert open_store(None, Path(sys.argv[1])).ledger(Decimal('1')) is not None\n"
        "try:\n"
        "    open_store('redis://127.0.0.1:1/0', Path(sys.argv[1]))\n"
        "except StoreUnavailable as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("pip install 'qwen-image-edit-mcp[redis]'") == 1


def test_a_missing_redis_skips_visibly_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the Redis ledger tests"):
        unavailable("redis-server is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        unavailable("redis-server is not installed")
