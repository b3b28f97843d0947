"""One OS process hammering a shared spend ledger, for the cross-process tests.

    python ledger_worker.py <sqlite|redis> <cache dir | redis URL> <limit> <price> <tasks> <burst|churn>

Prints "ready", waits for a line on stdin (so that every process starts at once), then runs `tasks` concurrent
callers and prints one JSON line: how many reservations succeeded and were refused, and the most the ledger was ever
seen holding (reserved + spent, in micro-dollars) right after one of this process's reservations.
    burst: each caller reserves once and keeps it.
    churn: each caller reserves and releases ROUNDS times, reading the ledger's status while it holds the room.
"""

from __future__ import annotations

import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import anyio

from qwen_image_edit_mcp.state.ledger import SpendLedger, SpendLimitExceeded, to_micros
from qwen_image_edit_mcp.state.store import open_store

ROUNDS = 5


async def main(backend: str, target: str, limit: str, price: str, tasks: int, mode: str) -> None:
    redis = backend == "redis"
    store = open_store(target if redis else None, Path(tempfile.mkdtemp()) if redis else Path(target))
    await store.open()
    ledger = store.ledger(Decimal(limit))
    counts = {"ok": 0, "refused": 0, "max_seen_micros": 0}

    async def caller(ledger: SpendLedger) -> None:
        for _ in range(ROUNDS if mode == "churn" else 1):
            try:
                reservation = await ledger.reserve(Decimal(price), label="worker")
            except SpendLimitExceeded:
                counts["refused"] += 1
                continue
            counts["ok"] += 1
            status = await ledger.status()
            seen = to_micros(status.spent_usd + status.reserved_usd)
            counts["max_seen_micros"] = max(counts["max_seen_micros"], seen)
            if mode == "churn":
                await ledger.release(reservation)

    print("ready", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.readline)
    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(caller, ledger)
    await store.aclose()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    backend, target, limit, price, tasks, mode = sys.argv[1:]
    anyio.run(main, backend, target, limit, price, int(tasks), mode)
