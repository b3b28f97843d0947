"""The task book, run against both backends: SQLite in a temporary folder and a real redis-server. Every store is
opened as a new process would open it; time is a fake wall clock handed to the store: nothing here sleeps."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, closing
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import pytest
from ledger_helpers import wall_clock
from pydantic import ValidationError
from redis_helpers import opened as opened_redis
from redis_helpers import redis_client
from sqlite_helpers import database, held
from sqlite_helpers import opened as opened_sqlite
from store_places import store_opener, store_url

from fakes import FakeClock
from qwen_image_edit_mcp.addresses import url_secrets
from qwen_image_edit_mcp.state.sqlite import Database
from qwen_image_edit_mcp.state.sqlite_tasks import SqliteTasks
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME, STORE_WAIT_SECONDS, Store, StoreUnavailable
from qwen_image_edit_mcp.state.tasks import HOUR, TaskBook, TaskJob, TaskRecord
from redis_server import running_redis

pytestmark = pytest.mark.anyio


class Place(NamedTuple):
    """Where the stores meet: `opened` opens a store there, `capped` a task book keeping at most n tasks a scope."""

    opened: Callable[[], AbstractAsyncContextManager[Store]]
    capped: Callable[[int], AbstractAsyncContextManager[TaskBook]]
    clock: FakeClock


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncGenerator[Place]:
    """Opens stores on one shared place (a file, or one redis-server), each as a new process would."""
    clock = wall_clock()
    with store_url(request.param, tmp_path) as url:

        def capped(most: int) -> AbstractAsyncContextManager[TaskBook]:
            return capped_book(url, tmp_path / "cache", clock, most)

        yield Place(store_opener(url, tmp_path / "cache", clock), capped, clock)


@asynccontextmanager
async def capped_book(url: str | None, cache_dir: Path, clock: FakeClock, most: int) -> AsyncGenerator[TaskBook]:
    """The backend's task book built directly, with its own cap: open_store always keeps the default one."""
    if url is None:
        db = Database(cache_dir / STORE_FILE_NAME, cache_dir=cache_dir, wall_clock=clock.now, wait_seconds=5.0)
        try:
            yield SqliteTasks(db, max_tasks=most)
        finally:
            db.close()
        return
    from qwen_image_edit_mcp.state.redis_journal import RedisAccess
    from qwen_image_edit_mcp.state.redis_ledger import connect, redact
    from qwen_image_edit_mcp.state.redis_tasks import RedisTasks

    text, raw = connect(url, STORE_WAIT_SECONDS), connect(url, STORE_WAIT_SECONDS, decode=False)
    access = RedisAccess(text, raw, url=redact(url), secrets=url_secrets(url), clock=clock.now)
    try:
        yield RedisTasks(access, max_tasks=most)
    finally:
        await text.aclose()
        await raw.aclose()


def task(task_id: str = "task-1", *, at: float, ttl: float = HOUR, **fields: Any) -> TaskRecord:
    job = TaskJob(prediction_id=f"pred-{task_id}", seed=7, cost_usd=Decimal("0.02"))
    fields = {"scope": "scope-a", "model_id": "wavespeed-ai/qwen-image/edit", **fields}
    return TaskRecord(task_id=task_id, created_at=at, updated_at=at, ttl_seconds=ttl, jobs=[job], **fields)


def ids(records: list[TaskRecord]) -> list[str]:
    return [record.task_id for record in records]


async def test_a_task_added_by_one_process_is_read_by_another_and_by_no_other_scope(backend: Place) -> None:
    made = task(at=backend.clock.now())
    async with backend.opened() as first:
        await first.tasks.add(made)
    async with backend.opened() as second:
        assert await second.tasks.get("scope-a", "task-1") == made
        assert await second.tasks.get("scope-b", "task-1") is None
        assert await second.tasks.get("scope-a", "task-2") is None
        assert await second.tasks.page("scope-b", None, 20) == []
        assert await second.tasks.settle("scope-b", "task-1", {"status": "cancelled"}) is None
        assert await second.tasks.get("scope-a", "task-1") == made


async def test_scopes_with_colons_and_braces_keep_their_own_tasks(backend: Place) -> None:
    scopes = ["bearer:abc", "bearer:{abc}", "{", "}x{", "#", "", "bearer:abc}"]
    async with backend.opened() as store:
        for number, scope in enumerate(scopes):
            await store.tasks.add(task(at=backend.clock.now() + number, scope=scope))
        for number, scope in enumerate(scopes):
            found = await store.tasks.get(scope, "task-1")
            assert found is not None
            assert (found.scope, found.created_at) == (scope, backend.clock.now() + number)
            assert ids(await store.tasks.page(scope, None, 20)) == ["task-1"]


async def test_a_task_is_there_until_its_ttl_has_passed(backend: Place) -> None:
    async with backend.opened() as store:
        await store.tasks.add(task("short", at=backend.clock.now(), ttl=HOUR))
        await store.tasks.add(task("long", at=backend.clock.now(), ttl=2 * HOUR))
        backend.clock.advance(HOUR - 1)
        assert await store.tasks.get("scope-a", "short") is not None
        assert ids(await store.tasks.page("scope-a", None, 20)) == ["short", "long"]
        backend.clock.advance(1)
        assert await store.tasks.get("scope-a", "short") is None
        assert await store.tasks.settle("scope-a", "short", {"status": "cancelled"}) is None
        assert ids(await store.tasks.page("scope-a", None, 20)) == ["long"]
        await store.tasks.add(task("later", at=backend.clock.now()))  # prunes the expired one: nothing changes
        assert ids(await store.tasks.page("scope-a", None, 20)) == ["later", "long"]
        assert await store.tasks.get("scope-a", "short") is None


async def test_a_working_task_settles_once_the_first_settlement_wins_and_a_bad_change_changes_nothing(
    backend: Place,
) -> None:
    now = backend.clock.now()
    result = {"content": [{"type": "text", "text": "done"}], "isError": False}
    async with backend.opened() as first, backend.opened() as second:
        await first.tasks.add(made := task(at=now))
        with pytest.raises(ValidationError):  # merged and checked whole, before anything is written
            await first.tasks.settle("scope-a", "task-1", {"status": "finished"})
        assert await second.tasks.get("scope-a", "task-1") == made
        done = await first.tasks.settle("scope-a", "task-1", {"status": "completed", "result": result, "updated_at": 9})
        assert done is not None
        assert (done.status, done.result, done.updated_at, done.created_at) == ("completed", result, 9, now)
        late = await second.tasks.settle("scope-a", "task-1", {"status": "cancelled", "status_message": "too late"})
        assert late == done
        assert await second.tasks.get("scope-a", "task-1") == done
        assert await second.tasks.settle("scope-a", "missing", {"status": "completed"}) is None


async def test_ten_concurrent_settlements_all_return_the_same_winner(backend: Place) -> None:
    statuses = ["completed", "failed", "cancelled"]
    answers: list[TaskRecord | None] = []
    async with backend.opened() as first, backend.opened() as second:
        await first.tasks.add(task(at=backend.clock.now()))

        async def settle(number: int) -> None:
            store = first if number % 2 else second
            change = {"status": statuses[number % 3], "status_message": f"settled by {number}"}
            answers.append(await store.tasks.settle("scope-a", "task-1", change))

        async with anyio.create_task_group() as group:
            for number in range(10):
                group.start_soon(settle, number)
        stored = await first.tasks.get("scope-a", "task-1")
    assert stored is not None
    assert stored.terminal
    assert answers == [stored] * 10


async def test_pages_go_newest_first_ties_by_task_id_descending_skipping_expired_tasks(backend: Place) -> None:
    t = backend.clock.now()
    # Byte order, not a locale's: "Z" < "a" < "b". Two expire before the pages are read.
    made = [("old", t), ("Z", t + 10), ("a", t + 10), ("b", t + 10), ("gone", t + 10), ("mid", t + 20)]
    made += [("new", t + 30), ("gone-too", t + 40)]
    async with backend.opened() as store:
        for task_id, at in made:
            await store.tasks.add(task(task_id, at=at, ttl=HOUR if task_id.startswith("gone") else 2 * HOUR))
        await store.tasks.add(task("elsewhere", at=t + 50, scope="scope-b"))
        backend.clock.advance(HOUR + 45)
        expected = ["new", "mid", "b", "a", "Z", "old"]
        assert ids(await store.tasks.page("scope-a", None, 20)) == expected
        pages: list[list[str]] = []
        before: tuple[float, str] | None = None
        while page := await store.tasks.page("scope-a", before, 2):
            pages.append(ids(page))
            before = (page[-1].created_at, page[-1].task_id)
        assert pages == [["new", "mid"], ["b", "a"], ["Z", "old"]]
        # A cursor between tied tasks, whether or not a task has its id.
        assert ids(await store.tasks.page("scope-a", (t + 10, "aa"), 20)) == ["a", "Z", "old"]
        assert ids(await store.tasks.page("scope-a", (t + 10, "a"), 1)) == ["Z"]
        assert ids(await store.tasks.page("scope-a", (t + 15, ""), 20)) == ["b", "a", "Z", "old"]
        assert await store.tasks.page("scope-a", (t, "old"), 20) == []
        assert await store.tasks.page("scope-a", None, 0) == []


async def test_beyond_the_cap_a_scope_loses_its_oldest_tasks(backend: Place) -> None:
    t = backend.clock.now()
    async with backend.capped(3) as book:
        await book.add(task("other", at=t, scope="scope-b"))
        for number, at in enumerate([t + 1, t + 2, t + 2, t + 3, t + 4]):
            await book.add(task(f"task-{number}", at=at))
        assert ids(await book.page("scope-a", None, 20)) == ["task-4", "task-3", "task-2"]
        assert await book.get("scope-a", "task-1") is None
        assert await book.get("scope-a", "task-0") is None
        assert await book.settle("scope-a", "task-0", {"status": "cancelled"}) is None
        await book.add(task("older", at=t))  # older than every task kept: it goes at once
        assert ids(await book.page("scope-a", None, 20)) == ["task-4", "task-3", "task-2"]
        assert ids(await book.page("scope-b", None, 20)) == ["other"]


async def test_a_large_result_round_trips(backend: Place) -> None:
    picture = "iVBORw0KGgo" * 55_000  # ~600 KB, as a result with an inline image might be
    result = {"content": [{"type": "image", "data": picture, "mimeType": "image/png"}], "structuredContent": {"n": 1}}
    async with backend.opened() as first:
        await first.tasks.add(task("added", at=backend.clock.now(), result=result))
        await first.tasks.add(task("settled", at=backend.clock.now()))
        done = await first.tasks.settle("scope-a", "settled", {"status": "completed", "result": result})
    assert done is not None
    assert done.result == result
    async with backend.opened() as second:
        for task_id in ("added", "settled"):
            found = await second.tasks.get("scope-a", task_id)
            assert found is not None
            assert found.result == result
        assert [record.result for record in await second.tasks.page("scope-a", None, 20)] == [result, result]


async def test_redis_forgets_a_task_whose_key_it_expired_and_a_settlement_keeps_the_keys_expiry(
    tmp_path: Path,
) -> None:
    from qwen_image_edit_mcp.state.redis_tasks import scope_prefix

    clock, prefix = wall_clock(), scope_prefix("scope-a")
    with running_redis(tmp_path) as url, redis_client(url) as client:
        async with opened_redis(url, tmp_path / "cache", clock) as store:
            await store.tasks.add(task("kept", at=clock.now()))
            await store.tasks.add(task("lost", at=clock.now() + 1))
            client.delete(f"{prefix}:task:lost")  # as Redis's own expiry would
            assert ids(await store.tasks.page("scope-a", None, 20)) == ["kept"]
            for name in ("index", "expires"):
                assert (client.zcard(f"{prefix}:{name}"), client.zscore(f"{prefix}:{name}", "lost")) == (1, None)
            await store.tasks.settle("scope-a", "kept", {"status": "completed"})
            left = client.pttl(f"{prefix}:task:kept")
    assert HOUR * 1000 - 5000 < left <= HOUR * 1000


async def test_a_second_version_sqlite_file_gains_the_task_table_and_a_held_or_damaged_one_refuses(
    tmp_path: Path,
) -> None:
    clock, cache = wall_clock(), tmp_path / "cache"
    async with opened_sqlite(cache, clock):
        pass
    with closing(sqlite3.connect(database(cache))) as connection:
        connection.execute("DROP TABLE tasks")
        connection.execute("PRAGMA user_version = 2")
        connection.commit()
    async with opened_sqlite(cache, clock, wait_seconds=0.2) as store:
        await store.tasks.add(task(at=clock.now()))
        with held(database(cache)), pytest.raises(StoreUnavailable, match="busy"):
            await store.tasks.settle("scope-a", "task-1", {"status": "completed"})
        with closing(sqlite3.connect(database(cache))) as connection:
            connection.execute("UPDATE tasks SET record = '{}'")
            connection.commit()
        with pytest.raises(StoreUnavailable, match="damaged"):
            await store.tasks.get("scope-a", "task-1")


async def test_a_live_task_keeps_its_id_and_an_expired_one_gives_it_up(backend: Place) -> None:
    made = task(at=backend.clock.now())
    again = made.model_copy(update={"status_message": "a second call given the same id upstream"})
    async with backend.opened() as store:
        assert await store.tasks.add(made) is True
        assert await store.tasks.add(again) is False  # never overwritten: the first is the task
        assert await store.tasks.get("scope-a", "task-1") == made
        backend.clock.advance(HOUR + 1)
        later = task(at=backend.clock.now())
        assert await store.tasks.add(later) is True  # the first expired: its id is free
        assert await store.tasks.get("scope-a", "task-1") == later
