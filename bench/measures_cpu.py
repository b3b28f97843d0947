"""The server's own CPU per edit: what one 1024x1024 JPEG edit (the defaults) costs our server process, preview
included, counted by the kernel rather than timed from the caller's side.

The server runs over stdio against the emulator on loopback, warms up (imports, connections, the poll schedule),
then runs rounds of edits one after another (as one person works, and steadier than waves on a small machine); each
round's figure is the CPU time the process used during its edits divided by their number, and the report gives the
median round. The emulator renders in the benchmark's own process, so its work is not
counted. Set PYTHONPATH to another checkout's `server/` folder to measure that code instead (e.g. a worktree of an
older commit, for a before-and-after).
"""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from mcp import Client

from measures import KEY, Plan, Results, server_env, stdio_session, timed_edit
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator

# Long enough for the learned schedule to settle on a few polls per job, as in real use; short enough for a quick run.
LATENCY = 0.5
WARM_UP = 4


def thread_cpu(pid: int) -> dict[str, int]:
    """Each live thread's CPU time so far, in nanoseconds (its schedstat), by thread id."""
    times: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[task.name] = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a worker thread that ended while being read
            continue
    return times


def cpu_between(before: dict[str, int], after: dict[str, int]) -> float:
    """CPU seconds the threads used between two readings, thread by thread: one that ended in between drops out
    without taking its earlier time with it (a sum of totals would go backwards); one that started counts whole.
    (/proc/<pid>/stat keeps exited threads' time, but only in clock ticks: too coarse for one edit.)"""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e9


def server_pid(errlog: Path) -> int:
    found = re.findall(r"\(pid (\d+)\)", errlog.read_text())
    if not found:
        raise RuntimeError(f"the server did not log its pid in {errlog}")
    return int(found[0])


async def edits(client: Client, pid: int, count: int, start: int) -> float:
    """The server's CPU seconds over `count` default edits, each with its own prompt (the emulator tints by it:
    every output is new). Only the edits are counted, not the client's own moments between them."""
    spent = 0.0
    for number in range(start, start + count):
        before = thread_cpu(pid)
        await timed_edit(client, {"prompt": f"bench cpu {number}"})
        spent += cpu_between(before, thread_cpu(pid))
    return spent


async def bench_cpu(plan: Plan, results: Results, workdir: Path) -> None:
    errlog = workdir / "cpu.log"
    per_edit: list[float] = []
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=LATENCY)) as emulator:
        env: dict[str, str] = server_env(emulator, workdir, plan)
        if path := os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = path  # the code under test, when it is not this checkout's
        async with stdio_session(env, errlog) as client:
            pid = server_pid(errlog)
            await edits(client, pid, WARM_UP, 0)
            for round_ in range(plan.cpu_rounds):
                spent = await edits(client, pid, plan.cpu_edits, WARM_UP + round_ * plan.cpu_edits)
                per_edit.append(spent / plan.cpu_edits)
    figures: dict[str, float] = {
        "per_edit_ms": statistics.median(per_edit) * 1000,
        "min_ms": min(per_edit) * 1000,
        "max_ms": max(per_edit) * 1000,
        "rounds": float(plan.cpu_rounds),
        "edits": float(plan.cpu_edits),
    }
    results.cpu = figures
    print(
        f"cpu: {figures['per_edit_ms']:.1f} ms of server CPU per 1024x1024 JPEG edit (median of {plan.cpu_rounds} "
        f"rounds of {plan.cpu_edits}; {figures['min_ms']:.1f}-{figures['max_ms']:.1f} ms)"
    )
