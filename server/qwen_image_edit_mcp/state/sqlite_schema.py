"""The SQLite store's tables, and the version of them a file carries (`PRAGMA user_version`)."""

from __future__ import annotations

import sqlite3
from typing import Final

# 2: the texts table; 3: the tasks table (every statement below is idempotent, so any older version runs them all)
SCHEMA_VERSION: Final = 3
SCHEMA_STATEMENTS: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, label TEXT NOT NULL, micros INTEGER NOT NULL, "
    "state TEXT NOT NULL, reserved_at REAL NOT NULL, lease_until REAL NOT NULL, ends REAL NOT NULL, "
    "prediction_id TEXT)",
    "CREATE INDEX IF NOT EXISTS ledger_by_ends ON ledger (ends)",
    "CREATE TABLE IF NOT EXISTS uploads (key TEXT PRIMARY KEY, url TEXT NOT NULL, uploaded_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS uploads_by_age ON uploads (uploaded_at)",
    "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, prediction_id TEXT UNIQUE, created_at REAL NOT NULL, "
    "record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (created_at)",
    "CREATE TABLE IF NOT EXISTS handed_out (url TEXT PRIMARY KEY, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS handed_out_by_age ON handed_out (at)",
    "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, kept_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS blobs_by_age ON blobs (kept_at)",
    "CREATE TABLE IF NOT EXISTS texts (key TEXT PRIMARY KEY, text TEXT NOT NULL, expires REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tasks (scope TEXT NOT NULL, task_id TEXT NOT NULL, created_at REAL NOT NULL, "
    "expires REAL NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (scope, task_id))",
    "CREATE INDEX IF NOT EXISTS tasks_by_age ON tasks (scope, created_at, task_id)",
)


def create_schema(connection: sqlite3.Connection) -> None:
    for statement in SCHEMA_STATEMENTS:
        connection.execute(statement)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
