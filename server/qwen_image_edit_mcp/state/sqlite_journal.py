"""The upload cache and the job journal in the SQLite store (sqlite.py holds the connection and the schema).

Each call is one statement or one `BEGIN IMMEDIATE` transaction, so two processes never interleave a read and a
write: the first composite kept wins everywhere. Old rows go by indexed DELETEs on the write paths, at most once a
minute per table, so the file stays bounded without ever being rewritten whole.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio.to_thread

from .store import (
    BLOB_KEEP_SECONDS,
    JOURNAL_KEEP_SECONDS,
    JOURNAL_MAX_JOBS,
    UPLOAD_KEEP_SECONDS,
    UPLOAD_REUSE_SECONDS,
    JobRecord,
    KeptOutput,
    recent_count,
)

if TYPE_CHECKING:
    from .sqlite import Database


class SqliteUploads:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        def work(connection: sqlite3.Connection, now: float) -> str | None:
            row = connection.execute(
                "SELECT url FROM uploads WHERE key = ? AND uploaded_at > ?", (key, now - UPLOAD_REUSE_SECONDS)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._db.run(work, self._db.store_failure("reading the upload cache"), write=False)

    async def put(self, key: str, url: str) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            if self._db.prune_due("uploads", now):
                connection.execute("DELETE FROM uploads WHERE uploaded_at <= ?", (now - UPLOAD_KEEP_SECONDS,))
            connection.execute(
                "INSERT OR REPLACE INTO uploads (key, url, uploaded_at) VALUES (?, ?, ?)", (key, url, now)
            )

        await self._db.run(work, self._db.store_failure("recording an upload"))


class SqliteTexts:
    """Short-lived shared text (the model catalog): one row per key, expired rows ignored and pruned on write."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        def work(connection: sqlite3.Connection, now: float) -> str | None:
            row = connection.execute("SELECT text FROM texts WHERE key = ? AND expires > ?", (key, now)).fetchone()
            return None if row is None else str(row[0])

        return await self._db.run(work, self._db.store_failure("reading the shared cache"), write=False)

    async def put(self, key: str, text: str, *, seconds: float) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM texts WHERE expires <= ?", (now,))  # a handful of rows at most
            connection.execute(
                "INSERT OR REPLACE INTO texts (key, text, expires) VALUES (?, ?, ?)", (key, text, now + seconds)
            )

        await self._db.run(work, self._db.store_failure("writing the shared cache"))


class SqliteJournal:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(self, record: JobRecord) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            self._prune_jobs(connection, now)
            connection.execute(
                "INSERT OR REPLACE INTO jobs (job_id, prediction_id, created_at, record) VALUES (?, ?, ?, ?)",
                (record.job_id, record.prediction_id, record.created_at, record.model_dump_json()),
            )

        await self._db.run(work, self._db.store_failure("recording a job before its submit"))

    async def started(self, job_id: str, prediction_id: str) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            row = connection.execute("SELECT record FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None:
                _save(connection, _parsed(row).model_copy(update={"prediction_id": prediction_id}))

        await self._db.run(work, self._db.store_failure(f"recording that job {job_id} became {prediction_id}"))

    async def get(self, prediction_id: str) -> JobRecord | None:
        def work(connection: sqlite3.Connection, now: float) -> JobRecord | None:
            return _by_prediction(connection, prediction_id)

        return await self._db.run(work, self._db.store_failure(f"reading job {prediction_id}"), write=False)

    async def known(self, prediction_ids: Sequence[str]) -> set[str]:
        def work(connection: sqlite3.Connection, now: float) -> set[str]:
            rows = connection.execute(
                "SELECT prediction_id FROM jobs WHERE prediction_id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(prediction_ids)),),
            ).fetchall()
            return {str(row[0]) for row in rows}

        if not prediction_ids:
            return set()
        return await self._db.run(work, self._db.store_failure("reading the job journal"), write=False)

    async def recent(self, limit: int) -> list[JobRecord]:
        def work(connection: sqlite3.Connection, now: float) -> list[JobRecord]:
            # The index on created_at walks from the newest; job_id breaks ties as Redis's ZREVRANGE does.
            rows = connection.execute(_RECENT, (recent_count(limit),)).fetchall()
            return [_parsed(row) for row in rows]

        return await self._db.run(work, self._db.store_failure("reading the newest jobs"), write=False)

    async def hand_out(self, prediction_id: str | None, urls: Sequence[str]) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            if self._db.prune_due("handed_out", now):
                connection.execute("DELETE FROM handed_out WHERE at < ?", (now - JOURNAL_KEEP_SECONDS,))
            connection.executemany(
                "INSERT OR REPLACE INTO handed_out (url, at) VALUES (?, ?)", [(url, now) for url in urls]
            )
            record = None if prediction_id is None else _by_prediction(connection, prediction_id)
            if record is not None:
                new = [url for url in dict.fromkeys(urls) if url not in record.outputs]
                if new:
                    _save(connection, record.model_copy(update={"outputs": [*record.outputs, *new]}))

        # A caller that stops waiting (a result on its way) leaves the thread to finish the write on its own.
        await self._db.run(work, self._db.store_failure("recording the URLs handed out"), abandon=True)

    async def handed_out(self, url: str) -> bool:
        def work(connection: sqlite3.Connection, now: float) -> bool:
            query = "SELECT 1 FROM handed_out WHERE url = ? AND at >= ?"
            return connection.execute(query, (url, now - JOURNAL_KEEP_SECONDS)).fetchone() is not None

        return await self._db.run(work, self._db.store_failure("reading the URLs handed out"), write=False)

    async def keep_composite(self, prediction_id: str, outputs: Sequence[KeptOutput]) -> list[KeptOutput]:
        def work(connection: sqlite3.Connection, now: float) -> list[KeptOutput]:
            # Read and written in one write transaction: another process's composite is either seen or waits.
            record = _by_prediction(connection, prediction_id)
            if record is None:
                return list(outputs)
            if record.composite is not None:
                return record.composite
            _save(connection, record.model_copy(update={"composite": list(outputs)}))
            return list(outputs)

        return await self._db.run(work, self._db.store_failure(f"keeping the composite of {prediction_id}"))

    async def put_blob(self, data: bytes) -> str:
        key = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())

        def work(connection: sqlite3.Connection, now: float) -> str:
            if self._db.prune_due("blobs", now):
                connection.execute("DELETE FROM blobs WHERE kept_at <= ?", (now - BLOB_KEEP_SECONDS,))
            connection.execute(
                "INSERT INTO blobs (key, data, kept_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET kept_at = excluded.kept_at",
                (key, data, now),
            )
            return key

        return await self._db.run(work, self._db.store_failure("keeping a blob"))

    async def get_blob(self, key: str) -> bytes | None:
        def work(connection: sqlite3.Connection, now: float) -> bytes | None:
            query = "SELECT data FROM blobs WHERE key = ? AND kept_at > ?"
            row = connection.execute(query, (key, now - BLOB_KEEP_SECONDS)).fetchone()
            return None if row is None else bytes(row[0])

        return await self._db.run(work, self._db.store_failure(f"reading blob {key}"), write=False)

    def _prune_jobs(self, connection: sqlite3.Connection, now: float) -> None:
        if not self._db.prune_due("jobs", now):
            return
        connection.execute("DELETE FROM jobs WHERE created_at < ?", (now - JOURNAL_KEEP_SECONDS,))
        # Beyond the cap the oldest go first: the index on created_at walks straight to them.
        connection.execute(
            "DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM jobs ORDER BY created_at DESC LIMIT -1 OFFSET ?)",
            (JOURNAL_MAX_JOBS - 1,),  # room for the job being recorded
        )


_RECENT = "SELECT record FROM jobs WHERE prediction_id IS NOT NULL ORDER BY created_at DESC, job_id DESC LIMIT ?"


def _by_prediction(connection: sqlite3.Connection, prediction_id: str) -> JobRecord | None:
    row = connection.execute("SELECT record FROM jobs WHERE prediction_id = ?", (prediction_id,)).fetchone()
    return None if row is None else _parsed(row)


def _parsed(row: tuple[str]) -> JobRecord:
    return JobRecord.model_validate_json(row[0])  # a damaged one raises ValidationError: the store refuses the call


def _save(connection: sqlite3.Connection, record: JobRecord) -> None:
    connection.execute(
        "UPDATE OR REPLACE jobs SET prediction_id = ?, record = ? WHERE job_id = ?",
        (record.prediction_id, record.model_dump_json(), record.job_id),
    )
