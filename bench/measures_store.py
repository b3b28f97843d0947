"""The store's cost (state/store.py): what keeping the ledger and the job journal in SQLite or Redis adds to an edit,
and whether two server processes sharing one SQLite file still run 32 edits at once about as fast as one.

- Overhead rows: a default edit's tool time minus the emulator's latency, as the overhead section measures it, one
  stdio server per backend with a spend limit (so the ledger is written too): the whole overhead, the store in it.
- The store's own share: the calls an edit makes on it (ledger status, reserve, commit; journal begin, started,
  hand_out), timed in this process through `open_store`, one after another: the target is checked on their median
  per edit on a fresh store; the same again with a busier day's edits in the ledger is reported beside it.
- Two processes: 32 edits at once, 16 on each of two stdio servers sharing one store, against one edit alone.

Redis needs `redis-server` (started here on a free loopback port, keeping nothing) and the redis package; without
them its rows say "not measured" and why.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import statistics
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from measures import KEY, Plan, Results, gather, p95, server_env, spend_status, stdio_session, timed_edit
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator
from qwen_image_edit_mcp.emulator.loopback import loopback_socket
from qwen_image_edit_mcp.state.ledger import SpendLedger
from qwen_image_edit_mcp.state.store import JobRecord, Store, open_store

LIMIT_USD = "1000"  # room for every edit of the section at $0.02: the ledger books each one, none is refused
PRICE_USD = Decimal("0.02")
MODEL = "wavespeed-ai/qwen-image/edit"
OPS_WARM_UP = 5
LOADED_ROUNDS = 20
BESIDE = {"ledger commit", "journal started"}  # the calls an edit makes while it follows the job, off its path
SMALL = {"size": "256*256"}  # as the concurrency rows: the emulator's rendering stays out of the wall time
# The settings this section chooses itself, whatever the run's --max-spend-usd / --store-url say.
OWN_SETTINGS = ("QWEN_EDIT_MAX_SPEND_USD", "QWEN_EDIT_STORE_URL", "QWEN_EDIT_LEDGER_URL")


def store_env(base: dict[str, str], url: str | None) -> dict[str, str]:
    env = {name: value for name, value in base.items() if name not in OWN_SETTINGS}
    return env | {"QWEN_EDIT_MAX_SPEND_USD": LIMIT_USD} | ({} if url is None else {"QWEN_EDIT_STORE_URL": url})


def store_in_use(errlog: Path) -> str:
    """The backend the server says it opened ('SQLite at ...', 'Redis at ...'): what shows the row measured it."""
    found = re.findall(r"store: ((?:SQLite|Redis) at \S+)", errlog.read_text())
    if not found:
        raise RuntimeError(f"the server did not log its store in {errlog}")
    return found[0]


def redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian: apt-get install redis-server)"
    if importlib.util.find_spec("redis") is None:
        return "the redis package is not installed (pip install -e '.[redis]')"
    return None


@asynccontextmanager
async def running_redis(folder: Path) -> AsyncGenerator[str]:
    """A fresh redis-server on a free loopback port, keeping nothing on disk, stopped on the way out; its URL
    without a database number (each measure takes its own, so each has a ledger of its own)."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "redis.log"
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = await anyio.open_process([*command, "--dir", str(folder), "--logfile", str(log)])
    try:
        with anyio.fail_after(30):  # its log says when it is ready
            while not (log.exists() and "Ready to accept connections" in log.read_text()):
                if process.returncode is not None:
                    raise RuntimeError(f"redis-server exited before it was ready: {log.read_text()}")
                await anyio.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


async def overhead_row(plan: Plan, workdir: Path, backend: str, url: str | None) -> dict[str, Any]:
    """Default edits in waves through one server with its store in `backend`, as the overhead section runs them."""
    folder = workdir / f"store-{backend.lower()}"
    latency = plan.store_latency
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=latency)) as emulator:
        env = store_env(server_env(emulator, folder, plan), url)
        errlog = workdir / f"store-{backend.lower()}.log"
        async with stdio_session(env, errlog) as client:
            samples: list[float] = []
            polls: list[int] = []
            for _ in range(0, plan.edits, plan.wave):
                wave = await gather([lambda: timed_edit(client, {})] * plan.wave)
                samples += [elapsed for elapsed, _ in wave]
                polls += [result.structured_content["polls"] for _, result in wave]
            spend = await spend_status(client)
    overheads = [elapsed - latency for elapsed in samples]
    row: dict[str, Any] = {"backend": backend, "store": store_in_use(errlog), "latency": latency}
    row |= {"edits": len(samples), "median": statistics.median(overheads), "p95": p95(overheads)}
    row |= {"polls": statistics.mean(polls), **spend}
    print(f"store {backend}: overhead median {row['median']:.3f}s p95 {row['p95']:.3f}s ({row['store']}, {spend})")
    return row


def edit_ops(store: Store, ledger: SpendLedger, number: int) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """The store calls one paid edit makes, in its order (the commit and `started` run beside the job's polling)."""
    job_id, prediction_id = uuid.uuid4().hex, f"bench-{number}-{uuid.uuid4().hex[:8]}"
    record = JobRecord(job_id=job_id, model_id=MODEL, price_usd=PRICE_USD, created_at=time.time())
    reservation: list[Any] = []

    async def reserve() -> None:
        reservation.append(await ledger.reserve(PRICE_USD, label=MODEL))

    url = f"https://example.com/outputs/{prediction_id}.jpeg"
    return [
        ("ledger status", ledger.status),
        ("ledger reserve", reserve),
        ("journal begin", lambda: store.journal.begin(record)),
        ("ledger commit", lambda: ledger.commit(reservation[0], prediction_id)),
        ("journal started", lambda: store.journal.started(job_id, prediction_id)),
        ("journal hand_out", lambda: store.journal.hand_out(prediction_id, [url])),
    ]


async def timed_rounds(store: Store, ledger: SpendLedger, rounds: int) -> dict[str, list[float]]:
    """Each call's milliseconds over `rounds` edits' worth of calls, by name, with each edit's 'total' and 'on path'."""
    times: dict[str, list[float]] = {}
    for number in range(rounds):
        edit: dict[str, float] = {}
        for name, call in edit_ops(store, ledger, number):
            started = time.perf_counter()
            await call()
            edit[name] = (time.perf_counter() - started) * 1000
        edit["total"] = sum(edit.values())
        edit["on path"] = edit["total"] - sum(edit[name] for name in BESIDE)
        for name, elapsed in edit.items():
            times.setdefault(name, []).append(elapsed)
    return times


async def store_ops(url: str | None, cache_dir: Path, rounds: int, prefill: int) -> dict[str, Any]:
    """The store's own time per edit against one backend, in this process: after a warm-up, `rounds` edits' worth of
    calls on a fresh store (median, p95, each call's median); then, with `prefill` more edits in the ledger's 24 h (a
    busier day), another few rounds (the ledger's status sums its window where the entries are)."""
    store = open_store(url, cache_dir)
    for warning in await store.open():
        print(f"store warning: {warning}")
    try:
        ledger = store.ledger(Decimal(LIMIT_USD))
        await timed_rounds(store, ledger, OPS_WARM_UP)
        fresh = await timed_rounds(store, ledger, rounds)
        for _ in range(prefill):
            await ledger.commit(await ledger.reserve(PRICE_USD, label=MODEL), uuid.uuid4().hex)
        loaded = await timed_rounds(store, ledger, LOADED_ROUNDS)
        description = store.description
    finally:
        await store.aclose()
    median = {name: statistics.median(values) for name, values in fresh.items()}
    figures: dict[str, Any] = {"store": description, "rounds": rounds, "median_ms": median.pop("total")}
    figures |= {"p95_ms": p95(fresh["total"]), "on_path_ms": median.pop("on path"), "per_op_ms": median}
    loaded_median = {name: statistics.median(values) for name, values in loaded.items()}
    figures |= {"loaded_entries": OPS_WARM_UP + rounds + prefill, "loaded_median_ms": loaded_median["total"]}
    figures["loaded_status_ms"] = loaded_median["ledger status"]
    steps = ", ".join(f"{name} {value:.2f}" for name, value in figures["per_op_ms"].items())
    print(
        f"store ops, {description}: {figures['median_ms']:.2f} ms per edit, p95 {figures['p95_ms']:.2f}, on the "
        f"call's path {figures['on_path_ms']:.2f} ({steps}); with {figures['loaded_entries']} edits in the ledger's "
        f"24 h {figures['loaded_median_ms']:.2f} ms, its status {figures['loaded_status_ms']:.2f} ms"
    )
    return figures


async def waves(one: Client, two: Client, half: int, rounds: int) -> dict[str, Any]:
    """One edit alone (three, alternating servers), then `rounds` of `half` edits at once on each server, then as
    many at once on the first alone (for reference); wall times."""

    async def wall(calls: list[Callable[[], Awaitable[Any]]]) -> float:
        started = time.perf_counter()
        await gather(calls)
        return time.perf_counter() - started

    singles = [await wall([lambda c=client: timed_edit(c, SMALL)]) for client in (one, two, one)]
    both: list[Callable[[], Awaitable[Any]]] = [lambda: timed_edit(one, SMALL)] * half
    both += [lambda: timed_edit(two, SMALL)] * half
    walls = [await wall(both) for _ in range(rounds)]
    alone = await wall([lambda: timed_edit(one, SMALL)] * (2 * half))
    single, median = statistics.median(singles), statistics.median(walls)
    figures = {"single": single, "singles": singles, "wall": median, "walls": walls, "ratio": median / single}
    return figures | {"one_server_wall": alone, "one_server_ratio": alone / single}


async def two_processes(plan: Plan, workdir: Path, backend: str, url: str | None) -> dict[str, Any]:
    """`store_two_edits` small edits at once, half on each of two servers sharing one store (both warmed up),
    against one alone; checks that they shared it (one ledger booked every edit)."""
    latency, half = plan.store_two_latency, plan.store_two_edits // 2
    logs = [workdir / f"store-two-{backend.lower()}-{name}.log" for name in ("a", "b")]
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=latency)) as emulator:
        env = store_env(server_env(emulator, workdir / f"store-shared-{backend.lower()}", plan), url)
        async with stdio_session(env, logs[0]) as one, stdio_session(env, logs[1]) as two:
            await gather([lambda: timed_edit(one, SMALL), lambda: timed_edit(two, SMALL)])
            figures = await waves(one, two, half, plan.store_two_rounds)
            spent = (await spend_status(two))["spent_usd"]
    stores = {store_in_use(log) for log in logs}
    edits = 2 + 3 + 2 * half * (plan.store_two_rounds + 1)
    if len(stores) != 1 or spent is None or abs(spent - float(PRICE_USD) * edits) > 1e-6:
        raise RuntimeError(f"the two servers did not share one ledger: {stores}, ${spent} for {edits} edits")
    walls = ", ".join(f"{wall:.2f}" for wall in figures["walls"])
    print(
        f"store, two processes sharing {stores.pop()}: {2 * half} edits at once in {figures['wall']:.2f}s (median "
        f"of {walls}) vs one in {figures['single']:.2f}s ({figures['ratio']:.2f}x); on one of the servers "
        f"{figures['one_server_wall']:.2f}s ({figures['one_server_ratio']:.2f}x); ${spent:.2f} booked"
    )
    return {"backend": backend, "latency": latency, "edits": 2 * half, **figures, "spent_usd": spent}


async def bench_store(plan: Plan, results: Results, workdir: Path) -> None:
    missing = redis_missing()
    overhead = [await overhead_row(plan, workdir, "SQLite", None)]
    rounds = plan.store_rounds, plan.store_prefill
    ops = {"SQLite": await store_ops(None, workdir / "store-ops-sqlite", *rounds)}
    two = [await two_processes(plan, workdir, "SQLite", None)]
    if missing is None:
        async with running_redis(workdir / "redis") as url:
            overhead.append(await overhead_row(plan, workdir, "Redis", f"{url}/0"))
            ops["Redis"] = await store_ops(f"{url}/1", workdir / "store-ops-redis", *rounds)
            two.append(await two_processes(plan, workdir, "Redis", f"{url}/2"))
    else:
        overhead.append({"backend": "Redis", "not_measured": missing})
        print(f"store Redis: not measured: {missing}")
    results.store = {"overhead": overhead, "ops": ops, "two_processes": two, "redis_missing": missing}


def store_rows(store: dict[str, Any]) -> list[str]:
    if not store:
        return []
    rows: list[str] = []
    for row in store["overhead"]:
        what = f"| overhead of a default edit, store in {row['backend']}, spend limit ${LIMIT_USD}"
        if "not_measured" in row:
            rows.append(f"{what} | not measured: {row['not_measured']} |")
        else:
            rows.append(
                f"{what} ({row['latency']:g} s jobs, {row['edits']} edits in waves): median, p95 | "
                f"{row['median']:.3f} s, {row['p95']:.3f} s |"
            )
    ops: dict[str, dict[str, Any]] = store["ops"]
    fresh = [
        f"{o['median_ms']:.2f} ms ({name}; {o['on_path_ms']:.2f} ms on the call's path)" for name, o in ops.items()
    ]
    loaded = [
        f"{o['loaded_median_ms']:.2f} ms ({name}; ledger status {o['loaded_status_ms']:.2f} ms)"
        for name, o in ops.items()
    ]
    first = next(iter(ops.values()))
    rows += [
        "| store operations per edit: ledger status, reserve, commit; journal begin, started, hand_out (in process, "
        f"median of {first['rounds']}; the commit and `started` run while the job is followed; the 5 ms target is "
        f"checked on the whole) | {', '.join(fresh)} |",
        f"| the same with {first['loaded_entries']:,} edits in the ledger's 24 h (a busier day; median of "
        f"{LOADED_ROUNDS}; not checked: the ledger's status still sums its whole window) | {', '.join(loaded)} |",
    ]
    rows += [
        f"| {two['edits']} edits at once, half on each of 2 stdio servers sharing one {two['backend']} store "
        f"({two['latency']:g} s jobs; median of {len(two['walls'])}) vs one alone; as many on one of them | "
        f"{two['wall']:.2f} s vs {two['single']:.2f} s ({two['ratio']:.2f}x); {two['one_server_wall']:.2f} s "
        f"({two['one_server_ratio']:.2f}x) |"
        for two in store["two_processes"]
    ]
    return rows


def store_checks(store: dict[str, Any], targets: dict[str, float]) -> list[tuple[str, float | None, float, str]]:
    """The verdicts' lines: the store's own time per edit with each backend, and the two processes' ratio (SQLite)."""
    ops: dict[str, Any] = store.get("ops", {})
    target = targets["store_ops_ms"]
    checks: list[tuple[str, float | None, float, str]] = [
        (f"store operations per edit, {name}", ops[name]["median_ms"] if name in ops else None, target, "ms")
        for name in ("SQLite", "Redis")
    ]
    edits, ratio = 32, None
    for row in store.get("two_processes", []):
        if row["backend"] == "SQLite":
            edits, ratio = row["edits"], row["ratio"]
    what = f"{edits} edits at once across 2 processes sharing SQLite vs one"
    return [*checks, (what, ratio, targets["store_two_process_32"], "x")]
