"""The measurements the benchmark makes: our server as its own process (over stdio as desktop hosts start it, and
over streamable HTTP), driven by the MCP SDK's client against the emulator on loopback, every number taken from the
caller's side. `bench.py` runs them and writes the report."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.emulator.loopback import loopback_socket

KEY = "bench-key-0123456789"
TOKEN = "bench-token-0123456789abcdef"
IMAGE = "https://example.com/photo.jpg"
HERE = Path(__file__).resolve().parent


@dataclass
class Plan:
    latencies: list[float]
    edits: int
    wave: int
    levels: list[int]
    cold_runs: int
    memory_edits: int
    masked_edits: int = 7  # masked and unmasked edits each, alternated
    cpu_rounds: int = 5  # the server's CPU per edit: rounds of edits, the median round reported
    cpu_edits: int = 32
    handshakes: int = 2000  # abandoned streamable-HTTP sessions (measures_sessions.py)
    # The store (measures_store.py): its overhead rows' job latency (edits and waves as the overhead rows), rounds of
    # an edit's store calls timed in process, and the edits at once across two servers sharing a store.
    store_latency: float = 3.0
    store_rounds: int = 200
    store_prefill: int = 1000  # then this many more edits in the ledger's 24 h, and its calls timed again
    store_two_edits: int = 32
    store_two_rounds: int = 3  # the median wall of these rounds is reported
    store_two_latency: float = 1.0
    catalog_edits: int = 15  # edits on a built-in and on a catalog model each (measures_catalog.py)
    variations_edits: int = 9  # single and 4-variation edits each (measures_variations.py)
    variations_latency: float = 3.0
    # More settings for every server the benchmark starts, e.g. a spend limit (see bench.py --max-spend-usd).
    env: dict[str, str] = field(default_factory=dict[str, str])


@dataclass
class Results:
    machine: str
    version: str
    overhead: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    concurrency: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    cold_start: dict[str, float] = field(default_factory=dict[str, float])
    memory: dict[str, float] = field(default_factory=dict[str, float])
    composite: dict[str, float] = field(default_factory=dict[str, float])
    masked: dict[str, float] = field(default_factory=dict[str, float])
    inputs: dict[str, float] = field(default_factory=dict[str, float])
    cpu: dict[str, float] = field(default_factory=dict[str, float])
    sessions: dict[str, float] = field(default_factory=dict[str, float])
    store: dict[str, Any] = field(default_factory=dict[str, Any])
    catalog: dict[str, Any] = field(default_factory=dict[str, Any])
    variations: dict[str, Any] = field(default_factory=dict[str, Any])


def server_env(emulator: RunningEmulator, workdir: Path, plan: Plan) -> dict[str, str]:
    """The server's environment: the emulator's address, folders in `workdir` (the store, SQLite by default, lives in
    its cache folder), and the plan's own settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAVESPEED_API_KEY": KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_CACHE_DIR": str(workdir / "cache"),
        "QWEN_EDIT_OUTPUT_DIR": str(workdir / "outputs"),
        **plan.env,
    }


@asynccontextmanager
async def stdio_session(env: dict[str, str], errlog: Path) -> AsyncGenerator[Client]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "qwen_image_edit_mcp", "--log-level", "INFO"], env=env, cwd="/"
    )
    with errlog.open("w") as log:
        async with Client(stdio_client(params, errlog=log), read_timeout_seconds=900) as client:
            yield client


@asynccontextmanager
async def http_server(env: dict[str, str]) -> AsyncGenerator[int]:
    """Our server as its own process over streamable HTTP; yields its port once it accepts connections."""
    async with http_server_process(env) as (port, _):
        yield port


@asynccontextmanager
async def http_server_process(env: dict[str, str]) -> AsyncGenerator[tuple[int, int]]:
    """As `http_server`, yielding (port, pid): the pid for what is measured of the process itself."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "qwen_image_edit_mcp", "--transport", "streamable-http", "--port", str(port)]
    process = await anyio.open_process(
        [*command, "--log-level", "WARNING"], env={**env, "QWEN_EDIT_AUTH_TOKEN": TOKEN}, cwd="/"
    )
    try:
        with anyio.fail_after(30):
            while True:  # the process has no readiness signal but its port
                try:
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    await anyio.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        await process.wait()


@asynccontextmanager
async def http_client(port: int) -> AsyncGenerator[Client]:
    limits = httpx2.Limits(max_connections=400, max_keepalive_connections=400)
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(30, read=900), limits=limits
    )
    async with http, Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
        yield client


@asynccontextmanager
async def http_session(env: dict[str, str], workdir: Path) -> AsyncGenerator[Client]:
    async with http_server(env) as port, http_client(port) as client:
        yield client


async def timed_edit(client: Client, arguments: dict[str, Any]) -> tuple[float, CallToolResult]:
    started = time.perf_counter()
    result = await client.call_tool("edit_image", {"image": IMAGE, "prompt": "bench", **arguments})
    elapsed = time.perf_counter() - started
    if result.is_error or not result.structured_content or result.structured_content.get("status") != "completed":
        raise RuntimeError(f"an edit did not complete: {result.content}")
    return elapsed, result


async def gather(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    async def run(index: int) -> None:
        results[index] = await calls[index]()

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(run, index)
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def spend_status(client: Client) -> dict[str, Any]:
    """The server's spend limit and what it recorded as spent, as get_balance reports them (after the timed edits):
    what shows that a row ran with the limit on."""
    report: dict[str, Any] = (await client.call_tool("get_balance", {})).structured_content or {}
    return {"spend_limit_usd": report.get("spend_limit_usd"), "spent_usd": report.get("spent_usd")}


async def bench_overhead(
    plan: Plan, results: Results, workdir: Path, modes: tuple[str, ...] = ("async", "sync")
) -> None:
    for latency in plan.latencies:
        for mode in modes:
            async with running_emulator(EmulatorConfig(api_key=KEY, latency=latency)) as emulator:
                env = server_env(emulator, workdir, plan)
                async with stdio_session(env, workdir / f"overhead-{latency}-{mode}.log") as client:
                    samples: list[tuple[float, int]] = []
                    arguments: dict[str, Any] = {"enable_sync_mode": mode == "sync"}
                    for _ in range(0, plan.edits, plan.wave):
                        wave = await gather([lambda a=arguments: timed_edit(client, a)] * plan.wave)
                        samples += [(elapsed, r.structured_content["polls"]) for elapsed, r in wave]
                    spend = await spend_status(client)
            overheads = [elapsed - latency for elapsed, _ in samples]
            row = {
                "latency": latency,
                "mode": mode,
                "edits": len(samples),
                "median": statistics.median(overheads),
                "p95": p95(overheads),
                "polls": statistics.mean(p for _, p in samples),
                **spend,
            }
            results.overhead.append(row)
            print(
                f"overhead {latency:g}s {mode}: median {row['median']:.3f}s p95 {row['p95']:.3f}s "
                f"polls {row['polls']:.1f}"
            )


async def bench_concurrency(
    plan: Plan, results: Results, workdir: Path, transports: tuple[str, ...] = ("stdio", "http")
) -> None:
    latency = plan.latencies[min(1, len(plan.latencies) - 1)]
    for transport in transports:
        async with running_emulator(EmulatorConfig(api_key=KEY, latency=latency)) as emulator:
            env = server_env(emulator, workdir, plan)
            session = (
                stdio_session(env, workdir / "concurrency.log") if transport == "stdio" else http_session(env, workdir)
            )
            async with session as client:
                small = {"size": "256*256"}
                await timed_edit(client, small)  # warm up: connections open, the schedule has learned
                single = None
                for level in plan.levels:
                    started = time.perf_counter()
                    await gather([lambda a=small: timed_edit(client, a)] * level)
                    wall = time.perf_counter() - started
                    single = single or wall
                    results.concurrency.append(
                        {"transport": transport, "level": level, "wall": wall, "ratio": wall / single}
                    )
                    print(f"concurrency {transport} x{level}: {wall:.2f}s ({wall / single:.2f}x a single edit)")


async def time_cold_start(args: list[str], workdir: Path) -> float:
    env = {"PATH": "/usr/bin:/bin", "QWEN_EDIT_CACHE_DIR": str(workdir / "cache")}
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd="/")
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        async with Client(stdio_client(params, errlog=quiet)) as client:
            await client.list_tools()
            return time.perf_counter() - started


async def bench_cold_start(plan: Plan, results: Results, workdir: Path) -> None:
    ours = [await time_cold_start(["-m", "qwen_image_edit_mcp"], workdir) for _ in range(plan.cold_runs)]
    bare = [await time_cold_start([str(HERE / "hello_server.py")], workdir) for _ in range(plan.cold_runs)]
    results.cold_start = {"ours": statistics.median(ours), "bare": statistics.median(bare)}
    results.cold_start["delta"] = results.cold_start["ours"] - results.cold_start["bare"]
    results.cold_start["ratio"] = results.cold_start["ours"] / results.cold_start["bare"]
    print(f"cold start: ours {results.cold_start['ours']:.3f}s, bare SDK {results.cold_start['bare']:.3f}s")


async def bench_memory(plan: Plan, results: Results, workdir: Path) -> None:
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=0.5)) as emulator:
        emulator.state.update_faults({"noisy_output": True})
        errlog = workdir / "memory.log"
        largest = 0
        async with stdio_session(server_env(emulator, workdir, plan), errlog) as client:
            arguments = {"size": "1536*1536", "output_format": "png", "enable_base64_output": True}
            for _ in range(plan.memory_edits):
                _, result = await timed_edit(client, arguments)
                largest = max(largest, len(result.model_dump_json(by_alias=True, exclude_none=True).encode()))
            pid = int(re.findall(r"\(pid (\d+)\)", errlog.read_text())[0])
            status = Path(f"/proc/{pid}/status").read_text()
            peak_kib = int(re.findall(r"VmHWM:\s*(\d+) kB", status)[0])
    results.memory = {"peak_rss_mib": peak_kib / 1024, "largest_result_bytes": largest}
    print(f"memory: peak RSS {peak_kib / 1024:.0f} MiB; largest result {largest} bytes")


async def bench_composite(_plan: Plan, results: Results, workdir: Path) -> None:
    """A masked edit's composite at 1536x1536 RGBA, in its own process (see compositing.py)."""
    done = await anyio.run_process([sys.executable, str(HERE / "compositing.py"), str(workdir / "pictures")])
    results.composite = json.loads(done.stdout)
    figures = ", ".join(f"{name} {value:.1f}" for name, value in results.composite.items())
    print(f"composite: {figures}")
