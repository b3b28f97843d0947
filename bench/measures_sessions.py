"""Abandoned sessions: what streamable-HTTP handshakes that are never closed cost the server (its resident memory,
read from /proc) and another client meanwhile (its tools/list latency, in both protocol eras).

The flood is raw `initialize` POSTs of the 2025 era, a few dozen at a time, each read to its end and never followed
by a DELETE: what clients that crash, or a careless script, leave behind. It runs in a process of its own, so that
its work does not delay the measuring client's event loop (which would be charged to the server), and it writes
pre-encoded requests on kept-alive sockets: an HTTP client library would spend more CPU than the server and, on a
small machine, become the bottleneck itself, so the server would never be pressed.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from measures import KEY, TOKEN, Plan, Results, http_server_process, p95, server_env
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}
FLOOD_AT_ONCE = 32


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def initialize_request(port: int) -> bytes:
    body = json.dumps(INITIALIZE).encode()
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: BufferedByteReceiveStream) -> str:
    """Read one HTTP/1.1 response to its end (chunked, as the SDK's SSE answers are, or with a length); its status."""
    head = await reader.receive_until(b"\r\n\r\n", 65536)
    status = head.split(b" ", 2)[1].decode()
    if b"transfer-encoding: chunked" in head.lower():
        while size := int((await reader.receive_until(b"\r\n", 1024)).split(b";")[0], 16):
            await reader.receive_exactly(size + 2)
        await reader.receive_until(b"\r\n", 1024)
    elif length := re.search(rb"(?i)content-length: *(\d+)", head):
        await reader.receive_exactly(int(length.group(1)))
    return status


async def flood(port: int, handshakes: int, at_once: int = FLOOD_AT_ONCE) -> dict[str, int]:
    """Open `handshakes` sessions, `at_once` at a time, and walk away from each; counts the answers by status."""
    statuses: dict[str, int] = {}
    left = iter(range(handshakes))
    request = initialize_request(port)

    async def worker() -> None:
        for _ in range(3):  # a connection the server closed is replaced; the handshake on it counts as failed
            try:
                async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                    reader = BufferedByteReceiveStream(stream)
                    for _ in left:
                        await stream.send(request)
                        status = await read_response(reader)
                        statuses[status] = statuses.get(status, 0) + 1
            except (OSError, anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError) as exc:
                statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
            else:
                return

    async with anyio.create_task_group() as group:
        for _ in range(at_once):
            group.start_soon(worker)
    return statuses


@asynccontextmanager
async def bystander(port: int, mode: str) -> AsyncGenerator[Client]:
    """Another client, in the 2026 era (sessionless) or the 2025 one (a session of its own, with its GET stream)."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(60))
    target = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
    async with http, Client(target, mode=mode) as client:
        yield client


async def timed_list(client: Client) -> float:
    started = time.perf_counter()
    await client.list_tools()
    return time.perf_counter() - started


async def bench_sessions(plan: Plan, results: Results, workdir: Path) -> None:
    async with (
        running_emulator(EmulatorConfig(api_key=KEY, latency=0.2)) as emulator,
        http_server_process(server_env(emulator, workdir, plan)) as (port, pid),
        bystander(port, "auto") as modern,
        bystander(port, "legacy") as legacy,
    ):
        calm = [await timed_list(client) for _ in range(10) for client in (modern, legacy)]
        before = rss_mib(pid)
        during: list[float] = []
        statuses: dict[str, int] = {}
        done = anyio.Event()
        started = time.perf_counter()

        async def run_flood() -> None:
            command = [sys.executable, __file__, str(port), str(plan.handshakes), str(FLOOD_AT_ONCE)]
            finished = await anyio.run_process(command, stderr=subprocess.PIPE)
            statuses.update(json.loads(finished.stdout))
            done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run_flood)
            while not done.is_set():
                during += [await timed_list(modern), await timed_list(legacy)]
        flood_seconds = time.perf_counter() - started
        after = rss_mib(pid)
        await timed_list(legacy)  # the bystander's own session was not evicted: it is never idle
    figures = {
        "handshakes": float(plan.handshakes),
        "failed": float(sum(count for status, count in statuses.items() if status != "200")),
        "flood_s": flood_seconds,
        "rss_before_mib": before,
        "rss_growth_mib": after - before,
        "list_calm_median": statistics.median(calm),
        "list_flood_median": statistics.median(during),
        "list_flood_p95": p95(during),
        "list_flood_max": max(during),
    }
    results.sessions.update(figures)
    print(
        f"sessions: {plan.handshakes} abandoned handshakes in {flood_seconds:.1f}s (answers {statuses}); RSS "
        f"{before:.0f} -> {after:.0f} MiB (+{after - before:.1f}); tools/list calm "
        f"{figures['list_calm_median'] * 1000:.1f} ms, during the flood median "
        f"{figures['list_flood_median'] * 1000:.1f} ms, p95 {figures['list_flood_p95'] * 1000:.1f} ms, max "
        f"{figures['list_flood_max'] * 1000:.1f} ms ({len(during)} calls)"
    )


if __name__ == "__main__":  # the flood's own process: port, handshakes, how many at once; the answers on stdout
    sys.stdout.write(json.dumps(anyio.run(flood, int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
