"""Helpers for the SQLite store's tests: a store opened on a folder and closed after, another connection holding the
write lock, a file nobody may write (root included), and the rows as stored."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeClock
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME, STORE_WAIT_SECONDS, Store, open_store


def database(cache_dir: Path) -> Path:
    return cache_dir / STORE_FILE_NAME


@asynccontextmanager
async def opened(
    cache_dir: Path, clock: FakeClock, *, wait_seconds: float = STORE_WAIT_SECONDS
) -> AsyncGenerator[Store]:
    """A store as a process opens it at start-up (warnings must be none), closed on the way out."""
    store = open_store(None, cache_dir, wall_clock=clock.now, wait_seconds=wait_seconds)
    assert await store.open() == []
    try:
        yield store
    finally:
        await store.aclose()


@contextmanager
def held(path: Path) -> Generator[None]:
    """Another connection (as another process would) holds the database's write lock until the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")


@contextmanager
def unwritable(path: Path) -> Generator[None]:
    """`path` made read-only for real: by its mode for an ordinary user, by the immutable attribute for root (whom
    a mode does not stop). Skips, saying why, where neither can be done."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("running as root, and the immutable attribute (chattr +i) is not available here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(query).fetchall()
