"""The embedded store: one SQLite database in the cache folder, shared by every process on the machine.

One connection per store, used by one worker thread at a time: a call waits its turn on an anyio limiter (never in a
blocked thread, which would drain the pool the whole server shares), and that wait counts against `wait_seconds`, as
SQLite's own wait for another process's lock does (`busy_timeout`, set to what is left). Past it the call is refused
as busy. The database runs in WAL mode, so readers never wait for a writer; every write is one `BEGIN IMMEDIATE`
transaction, which takes the write lock at its start, so two processes cannot both read, decide and write. Only a
spend reservation is synced to disk before its call returns (`synchronous=FULL`); everything else may lose its last
moments to a power cut, never its consistency.

Nothing here lets a raw sqlite3 error out: each one becomes `StoreUnavailable` (or `LedgerUnavailable` for the
ledger) naming the file and the cause. A database that cannot be opened does not stop the server: `open()` returns
a warning, and each later call tries again and refuses clearly while it still cannot.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeVar

import anyio
import anyio.to_thread
from pydantic import ValidationError

from .ledger import SpendLedger
from .migration import migrate
from .sqlite_journal import SqliteJournal, SqliteTexts, SqliteUploads
from .sqlite_ledger import SqliteLedger
from .sqlite_schema import SCHEMA_VERSION, create_schema
from .sqlite_tasks import SqliteTasks
from .store import STORE_WAIT_SECONDS, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[sqlite3.Connection, float], T]  # runs in the worker thread with the connection and the time

# Pruning is an indexed DELETE, but not worth running on every write: once a minute per table is bound enough.
PRUNE_EVERY_SECONDS: Final = 60.0


class Unusable(Exception):
    """The database cannot serve this call; `cause` says why, for the message that names the file."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Database:
    """The connection, its turn-taking, its transactions and what their failures mean."""

    def __init__(self, path: Path, *, cache_dir: Path, wall_clock: Callable[[], float], wait_seconds: float) -> None:
        self.path = path
        self.wait = wait_seconds
        self._cache_dir = cache_dir
        self._clock = wall_clock
        self._connection: sqlite3.Connection | None = None
        self._turn = anyio.CapacityLimiter(1)
        # The limiter hands the turn back when an abandoned call stops waiting while its thread still runs (a commit
        # past its deadline): the thread lock keeps the next call off the connection until that thread is done.
        self._thread_lock = threading.Lock()
        self._pruned: dict[str, float] = {}

    busy = property(lambda self: f"busy: another process held it for more than {self.wait:g} s")

    def store_failure(self, action: str) -> Callable[[str], Exception]:
        return lambda cause: StoreUnavailable(
            f"The store {self.path} could not be read or written ({cause}) while {action}: nothing was done."
        )

    async def run(
        self,
        work: Work[T],
        fail: Callable[[str], Exception],
        *,
        write: bool = True,
        durable: bool = False,
        abandon: bool = False,
    ) -> T:
        """`work` in a worker thread, in one write transaction unless `write` is False. `durable` syncs it to disk
        before returning; `abandon` lets a cancelled caller stop waiting while the thread finishes the write."""
        deadline = time.monotonic() + self.wait
        try:
            with anyio.fail_after(self.wait):
                await self._turn.acquire()
        except TimeoutError:
            raise fail(self.busy) from None
        try:
            return await anyio.to_thread.run_sync(
                self._call, work, fail, write, durable, deadline, abandon_on_cancel=abandon
            )
        finally:
            self._turn.release()

    def _call(self, work: Work[T], fail: Callable[[str], Exception], write: bool, durable: bool, deadline: float) -> T:
        if not self._thread_lock.acquire(timeout=_left(deadline)):
            raise fail(self.busy)
        try:
            while True:
                try:
                    return self._attempt(work, write, durable, deadline)
                except sqlite3.OperationalError as exc:
                    # Some contention (a switch to WAL, a WAL recovery) is answered busy at once, without SQLite's
                    # own wait: try again (the transaction was rolled back) until the deadline.
                    if not _busy(exc) or _left(deadline) <= 0:
                        raise
                time.sleep(0.01)
        except (sqlite3.Error, OSError, Unusable, ValidationError) as exc:
            raise fail(self.cause(exc)) from exc
        finally:
            self._thread_lock.release()

    def _attempt(self, work: Work[T], write: bool, durable: bool, deadline: float) -> T:
        connection = self._connected(deadline)
        # What is left of this call's wait, so the turn and the lock together never exceed it.
        connection.execute(f"PRAGMA busy_timeout = {int(_left(deadline) * 1000)}")
        if not write:
            return work(connection, self._clock())
        return transaction(connection, lambda c: work(c, self._clock()), durable=durable)

    def cause(self, exc: BaseException) -> str:
        if isinstance(exc, Unusable):
            return exc.cause
        if isinstance(exc, ValidationError):
            return f"a record in it is damaged: {exc.error_count()} invalid field(s)"
        if isinstance(exc, OSError):
            return f"its folder {self.path.parent} cannot be created or used: {exc.strerror or exc}"
        name = getattr(exc, "sqlite_errorname", "")
        causes = {
            "SQLITE_BUSY": self.busy,
            "SQLITE_LOCKED": self.busy,
            "SQLITE_NOTADB": "not a database: the file is damaged or is not SQLite; move it aside to start afresh",
            "SQLITE_CORRUPT": "malformed: the database file is damaged; move it aside to start afresh",
            "SQLITE_READONLY": "read-only: the file or its folder cannot be written",
            "SQLITE_CANTOPEN": "the file cannot be opened: check that it and its folder are readable and writable",
            "SQLITE_FULL": "the disk is full",
            "SQLITE_IOERR": f"a disk I/O error: {exc}",
        }
        return next((text for code, text in causes.items() if name.startswith(code)), str(exc))

    def prune_due(self, table: str, now: float) -> bool:
        """True at most once a minute of the store's clock per table (and whenever the clock went back)."""
        last = self._pruned.get(table)
        if last is not None and last <= now < last + PRUNE_EVERY_SECONDS:
            return False
        self._pruned[table] = now
        return True

    def _connected(self, deadline: float) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=_left(deadline), isolation_level=None, check_same_thread=False)
        try:
            self._prepare(connection)
            # Old files carry money (spend.json): their import is synced before anything is renamed.
            migrate(lambda work: transaction(connection, work, durable=True), self._cache_dir, self._clock())
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:  # checked first: nothing of a newer server's file is changed
            raise Unusable(f"made by a newer version of this server (schema {version}); upgrade this one")
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # switching takes a lock: once
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            transaction(connection, create_schema)

    def close(self) -> None:
        # After any abandoned write (bounded by the wait); past that, SQLite's journal keeps the file whole anyway.
        if not self._thread_lock.acquire(timeout=self.wait):
            log.warning("closing the store %s while a write was still waiting on it", self.path)
            return
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._thread_lock.release()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def transaction(connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
    """`work` in one `BEGIN IMMEDIATE` transaction: committed whole, or rolled back whatever it raised."""
    if durable:
        connection.execute("PRAGMA synchronous = FULL")  # the commit waits for the disk
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    log.debug("rollback failed; closing the connection drops the transaction", exc_info=True)
            raise
    finally:
        if durable:
            connection.execute("PRAGMA synchronous = NORMAL")
    return result


class SqliteStore:
    """A Store in one SQLite file (`<cache dir>/store.sqlite3` by default)."""

    def __init__(
        self,
        path: Path,
        *,
        cache_dir: Path,
        wall_clock: Callable[[], float] = time.time,
        wait_seconds: float = STORE_WAIT_SECONDS,
    ) -> None:
        self.path = path
        self._db = Database(path, cache_dir=cache_dir, wall_clock=wall_clock, wait_seconds=wait_seconds)
        self._uploads = SqliteUploads(self._db)
        self._journal = SqliteJournal(self._db)
        self.texts = SqliteTexts(self._db)
        self.tasks = SqliteTasks(self._db)

    @property
    def description(self) -> str:
        return f"SQLite at {self.path}"

    @property
    def uploads(self) -> SqliteUploads:
        return self._uploads

    @property
    def journal(self) -> SqliteJournal:
        return self._journal

    def ledger(self, limit_usd: Decimal) -> SpendLedger:
        return SqliteLedger(limit_usd, self._db)

    async def open(self) -> list[str]:
        """Creates the folder, the schema and moves the old files in (what that finds is logged by migration.py).
        Never raises: a database that cannot be opened is a warning, so the server starts and its free tools work;
        every call that needs the store refuses, and tries to open it again first."""
        try:
            await self._db.run(_nothing, self._db.store_failure("opening it"), write=False)
        except StoreUnavailable as exc:
            return [
                f"{exc.message} The spend limit, the upload cache and the job journal refuse every call until it "
                "can be opened; tools that need none of them still work."
            ]
        return []

    async def acknowledge_reset(self) -> str:
        return (
            f"Nothing to acknowledge: the SQLite store at {self.path} keeps the spend ledger in the same file as "
            "everything else, so it cannot lose the ledger's history alone."
        )

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._db.close)


def _nothing(connection: sqlite3.Connection, now: float) -> None:  # connecting (schema, migration) is the point
    pass
