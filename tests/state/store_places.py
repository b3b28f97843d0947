"""Where the store tests' stores meet: a file for SQLite, or one real redis-server; each store opened there as a new
process would open it, on a fake wall clock."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

from fakes import FakeClock
from qwen_image_edit_mcp.state.store import Store, open_store
from redis_server import running_redis


@contextmanager
def store_url(backend: str, tmp_path: Path) -> Generator[str | None]:
    """None for SQLite (the store's file in the cache folder), else the URL of a redis-server run for the test."""
    if backend == "sqlite":
        yield None
        return
    with running_redis(tmp_path) as url:
        yield url


def store_opener(
    url: str | None, cache_dir: Path, clock: FakeClock
) -> Callable[[], AbstractAsyncContextManager[Store]]:
    @asynccontextmanager
    async def opened() -> AsyncGenerator[Store]:
        store = open_store(url, cache_dir, wall_clock=clock.now)
        await store.open()
        try:
            yield store
        finally:
            await store.aclose()

    return opened
