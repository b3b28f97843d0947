"""The task book in the SQLite store (sqlite.py holds the connection and the `tasks` table).

One row per (scope, task id), with its creation and expiry times and its status beside the record, so reads, pages
and the cap are indexed queries and a settlement is one conditional UPDATE. Each call is one statement or one
`BEGIN IMMEDIATE` transaction: two processes settling the same task cannot both win. Expired rows are never returned
and are deleted on `add`, at most once a minute; beyond MAX_TASKS_PER_SCOPE live tasks a scope loses its oldest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .tasks import MAX_TASKS_PER_SCOPE, TaskRecord

if TYPE_CHECKING:
    from .sqlite import Database

_CAP = (
    "DELETE FROM tasks WHERE scope = ?1 AND task_id IN (SELECT task_id FROM tasks WHERE scope = ?1 AND expires > ?2 "
    "ORDER BY created_at DESC, task_id DESC LIMIT -1 OFFSET ?3)"
)
_PAGE = (
    "SELECT record FROM tasks WHERE scope = ?1 AND expires > ?2 AND (?3 IS NULL OR created_at < ?3 "
    "OR (created_at = ?3 AND task_id < ?4)) ORDER BY created_at DESC, task_id DESC LIMIT ?5"
)


class BadChange(Exception):
    """Carries a change that does not make a valid record out of the worker thread, past the store's own handling
    of ValidationError (which would call it a damaged record): the caller gets the ValidationError itself."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


def settled(record: TaskRecord, change: Mapping[str, Any]) -> TaskRecord:
    """`record` with `change` applied, validated whole: model_copy alone would keep an invalid value."""
    return TaskRecord.model_validate(record.model_copy(update=dict(change)).model_dump())


class SqliteTasks:
    def __init__(self, db: Database, *, max_tasks: int = MAX_TASKS_PER_SCOPE) -> None:
        self._db = db
        self._max_tasks = max_tasks

    async def add(self, record: TaskRecord) -> bool:
        def work(connection: sqlite3.Connection, now: float) -> bool:
            if self._db.prune_due("tasks", now):
                connection.execute("DELETE FROM tasks WHERE expires <= ?", (now,))
            # An expired row of this id is gone for good; a live one is kept, whatever is added over it.
            connection.execute(
                "DELETE FROM tasks WHERE scope = ? AND task_id = ? AND expires <= ?",
                (record.scope, record.task_id, now),
            )
            added = connection.execute(
                "INSERT OR IGNORE INTO tasks (scope, task_id, created_at, expires, status, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.scope,
                    record.task_id,
                    record.created_at,
                    record.expires_at,
                    record.status,
                    record.model_dump_json(),
                ),
            ).rowcount
            # The newest live tasks stay; beyond the cap the oldest go (the new one too, were it the oldest).
            connection.execute(_CAP, (record.scope, now, self._max_tasks))
            return added == 1

        return await self._db.run(work, self._db.store_failure(f"recording task {record.task_id}"))

    async def get(self, scope: str, task_id: str) -> TaskRecord | None:
        def work(connection: sqlite3.Connection, now: float) -> TaskRecord | None:
            return _live(connection, scope, task_id, now)

        return await self._db.run(work, self._db.store_failure(f"reading task {task_id}"), write=False)

    async def settle(self, scope: str, task_id: str, change: Mapping[str, Any]) -> TaskRecord | None:
        def work(connection: sqlite3.Connection, now: float) -> TaskRecord | None:
            # Read and written in one write transaction: another process's settlement is either seen or waits.
            record = _live(connection, scope, task_id, now)
            if record is None or record.status != "working":
                return record
            try:
                merged = settled(record, change)
            except ValidationError as exc:
                raise BadChange(exc) from exc
            connection.execute(
                "UPDATE tasks SET status = ?, record = ? WHERE scope = ? AND task_id = ? AND status = 'working'",
                (merged.status, merged.model_dump_json(), scope, task_id),
            )
            return merged

        try:
            return await self._db.run(work, self._db.store_failure(f"settling task {task_id}"))
        except BadChange as exc:
            raise exc.error from None

    async def page(self, scope: str, before: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        at, after = (None, None) if before is None else before

        def work(connection: sqlite3.Connection, now: float) -> list[TaskRecord]:
            # The (scope, created_at, task_id) index walks from the newest; task_id breaks ties as Redis's does.
            rows = connection.execute(_PAGE, (scope, now, at, after, limit)).fetchall()
            return [_parsed(row) for row in rows]

        if limit <= 0:
            return []
        return await self._db.run(work, self._db.store_failure("listing tasks"), write=False)


def _live(connection: sqlite3.Connection, scope: str, task_id: str, now: float) -> TaskRecord | None:
    row = connection.execute(
        "SELECT record FROM tasks WHERE scope = ? AND task_id = ? AND expires > ?", (scope, task_id, now)
    ).fetchone()
    return None if row is None else _parsed(row)


def _parsed(row: tuple[str]) -> TaskRecord:
    return TaskRecord.model_validate_json(row[0])  # a damaged one raises ValidationError: the store refuses the call
