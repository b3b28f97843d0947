"""The old files moved into the store, once: `spend.json` (the file ledger) and `uploads.json` (the upload cache).

What is still live in each is written into the store in one transaction, and only then is the file renamed
`<name>.migrated`: a crash in between imports it again on the next start, which changes nothing (rows are keyed by
the entry's id or the upload's key, and a row already there is kept). An unreadable `spend.json` cannot say what
was spent, so, as the file ledger did, it is kept aside and the whole limit counts as spent for 24 h: the store keeps
that moment (`ledger_blocked_until` in its meta table) because the limit itself is only known to the ledger.

`old_uploads` and `retire` are public: the Redis store imports `uploads.json` with them too.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from .ledger import WINDOW_SECONDS, Entry, utc
from .store import UPLOAD_REUSE_SECONDS

log = logging.getLogger(__name__)

SPEND_FILE: Final = "spend.json"
UPLOADS_FILE: Final = "uploads.json"
BLOCKED_UNTIL: Final = "ledger_blocked_until"
BLOCKED_BECAUSE: Final = "ledger_blocked_because"
LOCK_SECONDS: Final = 5.0  # the longest the migration waits for an older server's hold on spend.json.lock

Write = Callable[[Callable[[sqlite3.Connection], None]], None]  # runs its argument in one write transaction


class _LedgerFile(BaseModel):
    """spend.json as the file ledger wrote it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    version: Literal[1] = 1
    entries: list[Entry]


def retire(path: Path) -> None:
    """Rename `path` to `<name>.migrated`, so no later start imports it again. A file already gone is fine; any
    other OSError is raised."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(f"{path.name}.migrated"))


def old_uploads(cache_dir: Path, now: float) -> list[tuple[str, str, float]]:
    """(key, url, uploaded_at) of every upload in `<cache_dir>/uploads.json` that may still be reused; none if the file
    is missing, or unreadable (logged: a lost upload cache costs a re-upload, nothing more)."""
    path = cache_dir / UPLOADS_FILE
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("the old upload cache %s is unreadable (%s): nothing was imported from it", path, exc)
        return []
    if not isinstance(raw, dict):
        log.warning("the old upload cache %s is not a JSON object: nothing was imported from it", path)
        return []
    found: list[tuple[str, str, float]] = []
    for key, value in cast(dict[str, Any], raw).items():
        entry = cast(dict[str, Any], value) if isinstance(value, dict) else {}
        url, expires = entry.get("url"), entry.get("expires")
        # The file kept when a URL stopped being reused (put + 6 days); the store keeps when it was uploaded.
        if (
            isinstance(url, str)
            and isinstance(expires, int | float)
            and not isinstance(expires, bool)
            and expires > now
        ):
            found.append((key, url, float(expires) - UPLOAD_REUSE_SECONDS))
    return found


def migrate(write: Write, cache_dir: Path, now: float) -> None:
    """Import whichever old files are still in `cache_dir`, then rename them; nothing to do once they are gone.

    A server of the old version may still be running on the same folder (a rolling upgrade): the old ledger's own
    lock is held from the read to the rename, so none of its spending lands in the file after it was read."""
    spend, uploads = cache_dir / SPEND_FILE, cache_dir / UPLOADS_FILE
    if not spend.exists() and not uploads.exists():
        return
    with _old_ledger_locked(cache_dir / f"{SPEND_FILE}.lock", seconds=LOCK_SECONDS):
        _migrate(write, spend, uploads, cache_dir, now)


@contextlib.contextmanager
def _old_ledger_locked(lock_path: Path, *, seconds: float) -> Generator[None]:
    """The old file ledger's exclusive flock, taken within `seconds` (OSError after), when its lock file exists."""
    if sys.platform == "win32" or not lock_path.exists():  # the file ledger never ran on Windows
        yield
        return
    import fcntl

    with lock_path.open("a+b") as handle:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OSError(
                        errno.EAGAIN, f"an older server held {lock_path} for more than {seconds:g} s"
                    ) from None
                time.sleep(0.05)  # a file ledger holds it for milliseconds
        yield  # closing the file releases the lock


def _migrate(write: Write, spend: Path, uploads: Path, cache_dir: Path, now: float) -> None:
    entries = _old_entries(spend, now)
    aside = spend.with_name(f"{SPEND_FILE}.corrupt-{int(now)}") if entries is None else None
    found = old_uploads(cache_dir, now)

    def work(connection: sqlite3.Connection) -> None:
        if aside is not None:
            _block(connection, now + WINDOW_SECONDS, f"the old spend ledger was unreadable and is kept as {aside}")
        connection.executemany(
            "INSERT OR IGNORE INTO ledger (id, label, micros, state, reserved_at, lease_until, ends, prediction_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [entry_row(entry) for entry in entries or []],
        )
        connection.executemany("INSERT OR IGNORE INTO uploads (key, url, uploaded_at) VALUES (?, ?, ?)", found)

    write(work)
    if entries:
        log.info("moved %d live spend-ledger entries from %s into the store", len(entries), spend)
    if found:
        log.info("moved %d cached uploads from %s into the store", len(found), uploads)
    _put_away(spend, aside)
    _put_away(uploads, None)


def entry_row(entry: Entry) -> tuple[str, str, int, str, float, float, float, str | None]:
    return (
        entry.id,
        entry.label,
        entry.micros,
        entry.state,
        entry.reserved_at,
        entry.lease_until,
        entry.ends,
        entry.prediction_id,
    )


def _old_entries(path: Path, now: float) -> list[Entry] | None:
    """The live entries of the old ledger file ([] without one), or None when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("the old spend ledger %s cannot be read: %s", path, exc)
        return None
    try:
        return [entry for entry in _LedgerFile.model_validate_json(raw).entries if entry.ends > now]
    except ValidationError:
        return None


def _block(connection: sqlite3.Connection, until: float, because: str) -> None:
    """Count the whole limit as spent until `until` (a later block may only lengthen it)."""
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (BLOCKED_UNTIL,)).fetchone()
    if row is not None and float(row[0]) >= until:
        return
    connection.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(BLOCKED_UNTIL, repr(until)), (BLOCKED_BECAUSE, because)],
    )
    log.warning(
        "%s; the whole spend limit counts as spent until %s", because, utc(until).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def _put_away(path: Path, aside: Path | None) -> None:
    """Rename the imported file (to `aside` if given, else `<name>.migrated`); if that fails it is imported again
    next time, which changes nothing."""
    try:
        if aside is not None:
            os.replace(path, aside)
        else:
            retire(path)
    except FileNotFoundError:
        pass  # another process moved it first
    except OSError as exc:
        log.warning("could not rename %s after moving it into the store (%s); it will be read again", path, exc)
