"""Helpers for the Redis store's tests: a store opened as one process would and closed after, a plain client to look
at (or damage) what the store keeps, and the ledger's totals as stored."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from fakes import FakeClock
from qwen_image_edit_mcp.state.redis_ledger import KEY_PREFIX
from qwen_image_edit_mcp.state.store import Store, open_store

if TYPE_CHECKING:
    import redis

ACKNOWLEDGE = "qwen-image-edit-mcp --acknowledge-ledger-reset"


@asynccontextmanager
async def opened(
    url: str, cache_dir: Path, clock: FakeClock | None = None, *, warnings: list[str] | None = None
) -> AsyncGenerator[Store]:
    """A store as one process opens it: `cache_dir` is its machine's, `clock` None means Redis's own TIME for the
    ledger (and the process's clock for the rest). What open() warned goes into `warnings` when given."""
    store = open_store(url, cache_dir, wall_clock=None if clock is None else clock.now)
    said = await store.open()
    if warnings is not None:
        warnings.extend(said)
    try:
        yield store
    finally:
        await store.aclose()


@contextmanager
def redis_client(url: str) -> Generator[redis.Redis]:
    import redis  # here, not at the top: the test modules must load (and skip) without the package

    client = redis.Redis.from_url(url, decode_responses=True)  # pyright: ignore[reportUnknownMemberType]
    try:
        yield client
    finally:
        client.close()


def flush_all(url: str) -> None:
    """What a restart without persistence, an eviction of everything or a mistake leaves: nothing."""
    with redis_client(url) as client:
        client.flushall()  # pyright: ignore[reportUnknownMemberType]  (untyped **kwargs)


def every_key(client: redis.Redis) -> list[str]:
    return cast("list[str]", client.keys("*"))  # pyright: ignore[reportUnknownMemberType]  (untyped **kwargs)


def stored_totals(url: str) -> tuple[int, int]:
    """(the running total, the sum of the stored entries) in micro-dollars: the scripts must keep them equal."""
    with redis_client(url) as client:
        total = cast("str | None", client.get(f"{KEY_PREFIX}:total"))
        entries = cast("list[str]", client.hvals(f"{KEY_PREFIX}:entries"))
    return int(total or 0), sum(json.loads(raw)["micros"] for raw in entries)
