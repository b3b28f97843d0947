"""The Redis store beyond the contract every store keeps (test_store_contract.py), against a real redis-server: the
warnings at start-up about a Redis that keeps nothing or evicts, an unreachable Redis that still lets the server
start, the old uploads.json moved in once, and how the journal, the uploads and the blobs live in Redis (expiry, cap,
long URLs, bytes). Time is a fake wall clock handed to the store: nothing here sleeps."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from ledger_helpers import DAY, START, wall_clock
from redis_helpers import every_key, opened, redis_client

from http_harness import free_port
from qwen_image_edit_mcp.state import redis_journal
from qwen_image_edit_mcp.state.ledger import LedgerUnavailable
from qwen_image_edit_mcp.state.redis_journal import BLOB_PREFIX, JOURNAL_KEYS, UPLOAD_PREFIX
from qwen_image_edit_mcp.state.store import (
    BLOB_KEEP_SECONDS,
    JOURNAL_KEEP_SECONDS,
    UPLOAD_KEEP_SECONDS,
    JobRecord,
    KeptOutput,
    Store,
    StoreUnavailable,
)
from redis_server import PASSWORD, running_redis, unavailable

pytestmark = pytest.mark.anyio
DURABLE = ["--appendonly", "yes", "--maxmemory-policy", "noeviction"]


def job(job_id: str, at: float) -> JobRecord:
    return JobRecord(job_id=job_id, model_id="wavespeed-ai/qwen-image/edit", price_usd=Decimal("0.02"), created_at=at)


async def test_a_redis_that_keeps_nothing_on_disk_is_a_warning_at_start(tmp_path: Path) -> None:
    warnings: list[str] = []
    with running_redis(tmp_path) as url:  # --save "" --appendonly no
        async with opened(url, tmp_path, warnings=warnings) as store:
            assert store.description == f"Redis at {url.replace(PASSWORD, '***')}"
    assert len(warnings) == 1
    assert "keeps nothing on disk (appendonly no, no RDB save points)" in warnings[0]
    assert "--acknowledge-ledger-reset" in warnings[0]
    assert PASSWORD not in warnings[0]


@pytest.mark.parametrize(("policy", "warned"), [("allkeys-lru", True), ("volatile-lru", False), ("noeviction", False)])
async def test_an_evicting_redis_is_a_warning_at_start(tmp_path: Path, policy: str, warned: bool) -> None:
    warnings: list[str] = []
    with running_redis(tmp_path, ["--appendonly", "yes", "--maxmemory-policy", policy]) as url:
        async with opened(url, tmp_path, warnings=warnings):
            pass
    assert len(warnings) == warned
    if warned:
        assert f"evicts keys when its memory is full (maxmemory-policy {policy})" in warnings[0]


async def test_a_redis_that_keeps_its_data_and_never_evicts_gives_no_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, warnings=warnings):
            pass
    assert warnings == []


@pytest.mark.parametrize(
    ("refused", "said"),
    [
        (["-config"], "refused CONFIG GET, and its AOF is off"),
        (["-config", "-info"], "refused CONFIG GET and INFO, so whether it keeps the spend ledger on disk"),
    ],
)
async def test_a_managed_redis_that_refuses_config_is_checked_another_way(
    tmp_path: Path, refused: list[str], said: str
) -> None:
    warnings: list[str] = []
    with running_redis(tmp_path, ["--maxmemory-policy", "allkeys-lru"]) as url, redis_client(url) as admin:
        admin.execute_command(  # pyright: ignore[reportUnknownMemberType]
            "ACL", "SETUSER", "app", "on", ">app-pw-1a2b3c", "~*", "&*", "+@all", *refused
        )
        limited = url.replace(f":{PASSWORD}@", "app:app-pw-1a2b3c@")  # a user of its own, as managed Redis gives
        async with opened(limited, tmp_path, wall_clock(), warnings=warnings) as store:
            await store.ledger(Decimal("1")).reserve(Decimal("0.02"), label="scripts still run")
    assert said in warnings[0]
    assert ("maxmemory-policy allkeys-lru" in " ".join(warnings)) == ("-info" not in refused)
    assert "app-pw-1a2b3c" not in " ".join(warnings)


async def test_an_unreachable_redis_is_a_warning_at_start_and_a_clear_refusal_after(tmp_path: Path) -> None:
    if importlib.util.find_spec("redis") is None:
        unavailable("the redis package is not installed (pip install -e '.[test]')")
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    masked = url.replace(PASSWORD, "***")
    warnings: list[str] = []
    async with opened(url, tmp_path, warnings=warnings) as store:
        refusals: list[str] = []
        for call in (
            lambda: store.uploads.get("api|abc"),
            lambda: store.uploads.put("api|abc", "https://cdn.example/a.png"),
            lambda: store.journal.begin(job("job-1", START)),
            lambda: store.journal.get("pred-1"),
            lambda: store.journal.put_blob(b"bytes"),
            store.acknowledge_reset,
        ):
            with pytest.raises(StoreUnavailable) as failed:
                await call()
            refusals.append(failed.value.message)
        with pytest.raises(LedgerUnavailable) as ledger_failed:
            await store.ledger(Decimal("1")).reserve(Decimal("0.02"), label="edit")
    assert len(warnings) == 1
    assert f"The store (Redis at {masked}) cannot be reached" in warnings[0]
    assert all(f"Redis at {masked}" in message for message in refusals)
    assert "nothing was sent" in ledger_failed.value.message
    assert PASSWORD not in " ".join([*warnings, *refusals, ledger_failed.value.message])


async def test_the_old_upload_cache_is_moved_in_once(tmp_path: Path) -> None:
    clock = wall_clock()
    cache = tmp_path / "cache"
    cache.mkdir()
    old = {
        "api|live": {"url": "https://cdn.example/live.png", "expires": START + DAY},  # uploaded 5 days ago
        "api|stale": {"url": "https://cdn.example/stale.png", "expires": START - 1},
    }
    (cache / "uploads.json").write_text(json.dumps(old))
    warnings: list[str] = []
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, cache, clock, warnings=warnings) as store:
            assert warnings == []
            assert await store.uploads.get("api|live") == "https://cdn.example/live.png"
            assert await store.uploads.get("api|stale") is None
        assert not (cache / "uploads.json").exists()
        assert (cache / "uploads.json.migrated").exists()
        with redis_client(url) as client:
            left = client.ttl(UPLOAD_PREFIX + "api|live")
        # It expires when WaveSpeed drops it: 7 days after the upload, 2 days from now.
        assert 2 * DAY - 5 <= left <= 2 * DAY
        clock.advance(DAY)
        async with opened(url, cache, clock) as store:
            assert await store.uploads.get("api|live") is None  # by the store's clock, not only Redis's expiry


async def test_uploads_blobs_and_the_journal_expire_in_redis(tmp_path: Path) -> None:
    clock = wall_clock()
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, clock) as store:
            await store.uploads.put("api|abc", "https://cdn.example/abc.png")
            blob = await store.journal.put_blob(b"bytes")
            await store.journal.begin(job("job-1", clock.now()))
            await store.journal.started("job-1", "pred-1")
            await store.journal.hand_out("pred-1", ["https://cdn.example/out.png"])
            made = [KeptOutput(index=1, url=None, mime="image/png", blob=blob)]
            await store.journal.keep_composite("pred-1", made)
        with redis_client(url) as client:
            ttls = {key: client.ttl(key) for key in every_key(client)}
    assert ttls[UPLOAD_PREFIX + "api|abc"] > UPLOAD_KEEP_SECONDS - 60
    assert ttls[BLOB_PREFIX + blob] > BLOB_KEEP_SECONDS - 60
    journal = {key: ttl for key, ttl in ttls.items() if "{journal}" in key}
    assert set(JOURNAL_KEYS) <= set(journal)
    assert all(JOURNAL_KEEP_SECONDS - 60 < ttl <= JOURNAL_KEEP_SECONDS for ttl in journal.values())


async def test_a_blob_keeps_its_bytes_exactly_and_a_put_refreshes_its_expiry(tmp_path: Path) -> None:
    data = bytes(range(256)) * 64  # every byte value, none of them valid UTF-8 as a whole
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, wall_clock()) as store:
            key = await store.journal.put_blob(data)
            assert key == hashlib.sha256(data).hexdigest()
            with redis_client(url) as client:
                client.expire(BLOB_PREFIX + key, 100)
                assert await store.journal.put_blob(data) == key
                assert client.ttl(BLOB_PREFIX + key) > BLOB_KEEP_SECONDS - 60
            assert await store.journal.get_blob(key) == data


async def test_the_journal_keeps_at_most_its_cap_of_jobs_and_drops_the_oldest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_journal, "JOURNAL_MAX_JOBS", 3)
    clock = wall_clock()
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, clock) as store:
            for number in range(1, 5):
                await store.journal.begin(job(f"job-{number}", clock.now() + number))
                await store.journal.started(f"job-{number}", f"pred-{number}")
            assert await store.journal.known(["pred-1", "pred-2", "pred-3", "pred-4"]) == {"pred-2", "pred-3", "pred-4"}
            assert await store.journal.get("pred-1") is None
        with redis_client(url) as client:
            jobs, created, predictions, prediction_of = JOURNAL_KEYS[:4]
            counts = [client.hlen(jobs), client.zcard(created), client.hlen(predictions), client.hlen(prediction_of)]
            assert counts == [3, 3, 3, 3]  # what the oldest job left is gone with it


async def test_urls_handed_out_are_kept_by_their_hash_when_long_and_forgotten_after_30_days(tmp_path: Path) -> None:
    clock = wall_clock()
    long_url = "https://cdn.example/" + "x" * 5000 + ".png"
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, clock) as store:
            await store.journal.hand_out(None, [long_url])  # a job this store does not know: only the URL is kept
            assert await store.journal.handed_out(long_url)
            with redis_client(url) as client:
                assert max(len(key) for key in every_key(client)) < 200
            clock.advance(JOURNAL_KEEP_SECONDS + 1)
            assert not await store.journal.handed_out(long_url)


async def test_composites_kept_at_once_by_two_processes_are_one(tmp_path: Path) -> None:
    clock = wall_clock()
    results: list[list[KeptOutput]] = []
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, clock) as one, opened(url, tmp_path, clock) as other:
            await one.journal.begin(job("job-1", clock.now()))
            await one.journal.started("job-1", "pred-1")

            async def keep(store: Store, number: int) -> None:
                made = [KeptOutput(index=1, url=f"https://cdn.example/{number}.png", mime="image/png", blob=None)]
                results.append(await store.journal.keep_composite("pred-1", made))

            async with anyio.create_task_group() as group:
                for number in range(20):
                    group.start_soon(keep, one if number % 2 else other, number)
    assert len(results) == 20
    assert all(result == results[0] for result in results)


async def test_a_damaged_record_is_refused_clearly(tmp_path: Path) -> None:
    clock = wall_clock()
    with running_redis(tmp_path, DURABLE) as url:
        async with opened(url, tmp_path, clock) as store:
            await store.journal.begin(job("job-1", clock.now()))
            await store.journal.started("job-1", "pred-1")
            with redis_client(url) as client:
                client.hset(JOURNAL_KEYS[0], "job-1", "{not json")
            with pytest.raises(StoreUnavailable, match="a record in it is damaged") as failed:
                await store.journal.get("pred-1")
    assert "redis://:***@127.0.0.1" in failed.value.message
    assert PASSWORD not in failed.value.message
