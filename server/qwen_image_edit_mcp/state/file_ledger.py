"""The spend ledger for one machine: `spend.json` beside the upload cache, shared by every process that uses it.

Each change is a read-modify-write under an exclusive `flock` on a sidecar lock file (`spend.json.lock`, never
replaced, so every process locks the same inode), ending in an atomic replace: a crash leaves the old file or the new
one, never half of one. flock locks belong to an open file description, so two threads that each open the lock file
exclude each other just as two processes (uvicorn workers) do, and a process that dies holding the lock releases it
with its file descriptors. The blocking file work runs in a worker thread.

Each change reads and rewrites the whole file: about 0.1 s at 20,000 entries (a $400 day at $0.02), small beside an
edit's seconds; a deployment far beyond that belongs on the Redis ledger, whose reservations cost O(1).

Windows has no flock; rather than an untested `msvcrt.locking` port, the file ledger refuses to start there with a
clear error (a Redis ledger works on any platform).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Generator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, ValidationError

from ..atomic import write_atomically
from .ledger import (
    LEASE_SECONDS,
    WINDOW_SECONDS,
    Entry,
    LedgerSettingsError,
    LedgerStatus,
    LedgerUnavailable,
    Reservation,
    counted,
    fits,
    limit_micros_of,
    new_entry,
    refusal,
    spent_entry,
    summarize,
    to_micros,
    to_reservation,
    to_usd,
)

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

FILE_NAME = "spend.json"


class _LedgerFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    version: Literal[1] = 1
    entries: list[Entry]


@contextmanager
def _exclusive(lock_path: Path) -> Generator[None]:
    with lock_path.open("a+b") as handle:  # "a" creates it and never truncates it
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


class FileLedger:
    """A SpendLedger in `<directory>/spend.json`."""

    def __init__(
        self,
        limit_usd: Decimal,
        directory: Path,
        *,
        wall_clock: Callable[[], float] = time.time,
        lease_seconds: float = LEASE_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        if sys.platform == "win32":
            raise LedgerSettingsError(
                "The spend limit's file ledger needs POSIX file locks, which Windows does not have. Keep the ledger "
                "in Redis instead (QWEN_EDIT_LEDGER_URL=redis://...), or leave --max-spend-usd unset."
            )
        self._limit = limit_micros_of(limit_usd)
        self._directory = directory
        self.path = directory / FILE_NAME
        self._lock_path = directory / f"{FILE_NAME}.lock"
        self._clock = wall_clock
        self._lease = lease_seconds
        self._window = window_seconds
        # One worker thread at a time per ledger: a burst of edits waits here, not in 32 threads blocked on the lock,
        # which would drain the pool every other blocking call in the server shares.
        self._threads = anyio.CapacityLimiter(1)

    @property
    def limit_usd(self) -> Decimal:
        return to_usd(self._limit)

    async def reserve(self, amount_usd: Decimal, *, label: str) -> Reservation:
        micros = to_micros(amount_usd)
        return await anyio.to_thread.run_sync(self._reserve, micros, label, limiter=self._threads)

    async def commit(self, reservation: Reservation, prediction_id: str) -> None:
        # A call that must answer may stop waiting (see spending.py): the thread then finishes the write on its own.
        await anyio.to_thread.run_sync(
            self._commit, reservation, prediction_id, limiter=self._threads, abandon_on_cancel=True
        )

    async def release(self, reservation: Reservation) -> None:
        await anyio.to_thread.run_sync(self._release, reservation, limiter=self._threads)

    async def status(self) -> LedgerStatus:
        return await anyio.to_thread.run_sync(self._status, limiter=self._threads)

    async def aclose(self) -> None:
        pass  # nothing held open between calls

    def _reserve(self, micros: int, label: str) -> Reservation:
        with self._transaction() as (entries, now):
            if not fits(self._limit, entries, micros, now):
                raise refusal(self._limit, entries, micros, now)
            entry = new_entry(micros, label, now, lease=self._lease, window=self._window)
            entries.append(entry)
        return to_reservation(entry)

    def _commit(self, reservation: Reservation, prediction_id: str) -> None:
        with self._transaction(durable=False) as (entries, now):
            # Replaced whatever its state, and added back even if already pruned: money was spent either way.
            entries[:] = [entry for entry in entries if entry.id != reservation.id]
            entries.append(spent_entry(reservation, prediction_id, now, window=self._window))

    def _release(self, reservation: Reservation) -> None:
        with self._transaction(durable=False) as (entries, _):
            entries[:] = [entry for entry in entries if not (entry.id == reservation.id and entry.state == "reserved")]

    def _status(self) -> LedgerStatus:
        with self._transaction() as (entries, now):
            return summarize(self._limit, entries, now)

    @contextmanager
    def _transaction(self, *, durable: bool = True) -> Generator[tuple[list[Entry], float]]:
        """The live entries, under the lock; written back (pruned) if the body changed them or pruning did.

        Only a change that adds room-taking money must reach the disk before the paid request (`durable`): a commit
        or a release that a crash loses leaves the reservation, which its lease turns into a spend, and a file a crash
        empties is quarantined as the whole limit spent. Either errs towards less room, never more."""
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with _exclusive(self._lock_path):
                now = self._clock()
                stored = self._load(now)
                entries = counted(stored, now)
                yield entries, now
                if entries != stored:
                    self._store(entries, durable=durable)
        except OSError as exc:
            raise LedgerUnavailable(
                f"The spend ledger {self.path} could not be read or written ({exc.strerror or exc}), so the spend "
                "limit cannot be checked and nothing was sent. Check that the cache directory is writable."
            ) from exc

    def _load(self, now: float) -> list[Entry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            return _LedgerFile.model_validate_json(raw).entries
        except ValidationError:
            return self._quarantine(now)

    def _quarantine(self, now: float) -> list[Entry]:
        """An unreadable ledger cannot say what was spent: keep it aside and count the whole limit as spent for 24 h.

        Conservative on purpose: a spend cap that a damaged file could reset would be no cap. Whoever wants the room
        back sooner deletes spend.json deliberately.
        """
        aside = self.path.with_name(f"{FILE_NAME}.corrupt-{int(now)}")
        os.replace(self.path, aside)
        log.warning(
            "the spend ledger %s was unreadable: moved to %s; the whole limit counts as spent for 24 h",
            self.path,
            aside.name,
        )
        entries = [
            Entry(
                id=uuid.uuid4().hex,
                label=f"unreadable ledger, kept as {aside.name}",
                micros=self._limit,
                state="spent",
                reserved_at=now,
                lease_until=now,
                ends=now + self._window,
            )
        ]
        self._store(entries)  # written now: the next reader must not find no file and start from nothing
        return entries

    def _store(self, entries: list[Entry], *, durable: bool = True) -> None:
        write_atomically(self.path, _LedgerFile(entries=entries).model_dump_json().encode(), durable=durable)
