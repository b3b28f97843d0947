"""A Redis spend ledger that lost its data, against a real redis-server: a FLUSHALL, a fresh replica that would
start it afresh, keys that vanished while the marker stayed. Each is refused, naming the cause and the command, until
the operator acknowledges it; then every replica resumes from what is left. And the keys an older version wrote are
read as they are. Time is a fake wall clock handed to the store: nothing here sleeps."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from ledger_helpers import DAY, START, wall_clock
from redis_helpers import ACKNOWLEDGE, flush_all, opened, redis_client, stored_totals

from qwen_image_edit_mcp.state.ledger import LedgerUnavailable, SpendLimitExceeded
from qwen_image_edit_mcp.state.redis_epochs import EPOCH_FILE
from qwen_image_edit_mcp.state.redis_ledger import KEY_PREFIX
from redis_server import PASSWORD, running_redis

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


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
