"""The spend ledger in the SQLite store: the ledger's rules (ledger.py), one row per entry.

A reservation is one `BEGIN IMMEDIATE` transaction (prune what aged out, sum what still counts, add the entries), so
two processes cannot both slip under the limit, and it is synced to disk before the paid request. A commit or a
release need not be: one that a crash loses leaves the reservation, which its lease turns into a spend, so the error
is always towards less room. The sum is `fits` done by SQLite (the live entries are those whose `ends` is ahead);
the entries themselves are read only for a refusal's message or the status.

When the old `spend.json` was unreadable, the migration left a moment in the meta table until which the whole limit
counts as spent (the limit is known here, not there): it shows as one spent entry with its own label.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from .ledger import (
    LEASE_SECONDS,
    WINDOW_SECONDS,
    Entry,
    LedgerStatus,
    LedgerUnavailable,
    Reservation,
    SpendLimitExceeded,
    limit_micros_of,
    new_entry,
    refusal,
    spent_entry,
    status_of,
    to_micros_each,
    to_reservation,
    to_usd,
    utc,
)
from .migration import BLOCKED_BECAUSE, BLOCKED_UNTIL, entry_row

if TYPE_CHECKING:
    from .sqlite import Database

_INSERT = (
    "INSERT OR REPLACE INTO ledger (id, label, micros, state, reserved_at, lease_until, ends, prediction_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LIVE = (
    "SELECT id, label, micros, state, reserved_at, lease_until, ends, prediction_id FROM ledger "
    "WHERE ends > ? ORDER BY ends"
)


class SqliteLedger:
    """A SpendLedger in the store's `ledger` table."""

    def __init__(
        self,
        limit_usd: Decimal,
        db: Database,
        *,
        lease_seconds: float = LEASE_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._limit = limit_micros_of(limit_usd)
        self._db = db
        self._lease = lease_seconds
        self._window = window_seconds

    @property
    def limit_usd(self) -> Decimal:
        return to_usd(self._limit)

    async def reserve(self, amount_usd: Decimal, *, label: str) -> Reservation:
        return (await self.reserve_many([amount_usd], label=label))[0]

    async def reserve_many(self, amounts_usd: Sequence[Decimal], *, label: str) -> list[Reservation]:
        each = to_micros_each(amounts_usd)
        micros = sum(each)

        def work(connection: sqlite3.Connection, now: float) -> list[Reservation]:
            connection.execute("DELETE FROM ledger WHERE ends <= ?", (now,))
            blocked = self._blocked(connection, now)
            total: int = connection.execute("SELECT COALESCE(SUM(micros), 0) FROM ledger").fetchone()[0]
            if total + (0 if blocked is None else blocked.micros) + micros > self._limit:
                raise self._refusal(_entries(connection, now), blocked, micros, now)
            entries = [new_entry(part, label, now, lease=self._lease, window=self._window) for part in each]
            connection.executemany(_INSERT, [entry_row(entry) for entry in entries])
            return [to_reservation(entry) for entry in entries]

        return await self._db.run(work, self._fail, durable=True)

    async def commit(self, reservation: Reservation, prediction_id: str) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            # Replaced whatever its state, and added back even if already pruned: money was spent either way.
            connection.execute(_INSERT, entry_row(spent_entry(reservation, prediction_id, now, window=self._window)))

        # A call that must answer may stop waiting (see spending.py): the thread then finishes the write on its own.
        await self._db.run(work, self._fail, abandon=True)

    async def release(self, reservation: Reservation) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM ledger WHERE id = ? AND state = 'reserved'", (reservation.id,))

        await self._db.run(work, self._fail)

    async def status(self) -> LedgerStatus:
        def work(connection: sqlite3.Connection, now: float) -> LedgerStatus:
            # Summed where the entries are: every paid edit asks, and a busy day holds thousands of them.
            total, reserved, frees = connection.execute(_SUMS, (now, now)).fetchone()
            if (blocked := self._blocked(connection, now)) is not None:
                total, frees = total + blocked.micros, min(frees or blocked.ends, blocked.ends)
            return status_of(self._limit, total - reserved, reserved, frees)

        return await self._db.run(work, self._fail, write=False)

    def _fail(self, cause: str) -> LedgerUnavailable:
        return LedgerUnavailable(
            f"The spend ledger in {self._db.path} could not be read or written ({cause}), so the spend limit cannot "
            "be checked and nothing was sent."
        )

    def _blocked(self, connection: sqlite3.Connection, now: float) -> Entry | None:
        """The whole limit as one spent entry while an unreadable old ledger's block lasts, else None."""
        rows = dict(
            connection.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", (BLOCKED_UNTIL, BLOCKED_BECAUSE))
        )
        until = float(rows.get(BLOCKED_UNTIL, "0"))
        if until <= now:
            return None
        return Entry(
            id="blocked",
            label=str(rows.get(BLOCKED_BECAUSE, "an unreadable ledger")),
            micros=self._limit,
            state="spent",
            reserved_at=until - self._window,
            lease_until=until - self._window,
            ends=until,
        )

    def _refusal(self, entries: list[Entry], blocked: Entry | None, micros: int, now: float) -> SpendLimitExceeded:
        refused = refusal(self._limit, entries + ([] if blocked is None else [blocked]), micros, now)
        if blocked is None:
            return refused
        until = utc(blocked.ends).strftime("%Y-%m-%dT%H:%M:%SZ")
        return SpendLimitExceeded(
            f"{refused.message} The whole limit counts as spent until {until}: {blocked.label}.",
            limit_usd=refused.limit_usd,
            spent_usd=refused.spent_usd,
            reserved_usd=refused.reserved_usd,
            amount_usd=refused.amount_usd,
            frees_at=refused.frees_at,
        )


# Live micros, the part still reserved under a running lease, and the earliest end: what `summarize` adds up.
_SUMS = (
    "SELECT COALESCE(SUM(micros), 0), "
    "COALESCE(SUM(CASE WHEN state = 'reserved' AND lease_until > ? THEN micros ELSE 0 END), 0), MIN(ends) "
    "FROM ledger WHERE ends > ?"
)


def _entries(connection: sqlite3.Connection, now: float) -> list[Entry]:
    rows = connection.execute(_LIVE, (now,)).fetchall()
    return [
        Entry(
            id=row[0],
            label=row[1],
            micros=row[2],
            state=row[3],
            reserved_at=float(row[4]),
            lease_until=float(row[5]),
            ends=float(row[6]),
            prediction_id=row[7],
        )
        for row in rows
    ]
