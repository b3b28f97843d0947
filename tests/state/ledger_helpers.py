"""Helpers for the spend-ledger tests: a fake wall clock at a realistic date, and worker processes started together."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from fakes import FakeClock
from qwen_image_edit_mcp.state.ledger import Reservation, SpendLedger, SpendLimitExceeded

WORKER = Path(__file__).with_name("ledger_worker.py")
START = 1_764_000_000.0  # 2025-11-24T16:00:00Z: a real date, so the ISO times in messages can be checked
DAY = 24 * 3600.0


def wall_clock() -> FakeClock:
    return FakeClock(start=START)


async def reserve_concurrently(ledger: SpendLedger, price: str, callers: int) -> tuple[list[Reservation], int]:
    """`callers` reservations started at once: (those granted, how many were refused)."""
    granted: list[Reservation] = []
    refused = 0

    async def one() -> None:
        nonlocal refused
        try:
            granted.append(await ledger.reserve(Decimal(price), label="burst"))
        except SpendLimitExceeded:
            refused += 1

    async with anyio.create_task_group() as group:
        for _ in range(callers):
            group.start_soon(one)
    return granted, refused


def run_workers(args: list[str], processes: int = 2, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Start `processes` ledger workers, release them together once all are ready, and collect their counts."""
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read() if worker.stderr else ""
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results: list[dict[str, Any]] = []
        for worker in workers:
            out, err = worker.communicate(timeout=timeout)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
