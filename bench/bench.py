"""The benchmark: how fast a result reaches the caller, under load, from a cold start, and in how much memory.

    .venv/bin/python bench/bench.py            # the full run, a few minutes
    .venv/bin/python bench/bench.py --quick    # a smoke run, seconds (what the test suite runs)
    .venv/bin/python bench/bench.py --only overhead-async --only overhead-sync --max-spend-usd 1000
                                               # the overhead with the spend limit on (its ledger in the store)
    .venv/bin/python bench/bench.py --only store   # the store's cost, in SQLite and in Redis (with redis-server)

The emulator runs on loopback; our server runs as its own process, over stdio as desktop hosts start it (and over
streamable HTTP for the concurrency rows), driven by the MCP SDK's client. Every number is measured from the caller's
side: tool time is from sending `tools/call` to having the result. The table goes to the screen and to
bench/results/latest.md (plus a timestamped JSON file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import anyio

from measures import (
    HERE,
    Plan,
    Results,
    bench_cold_start,
    bench_composite,
    bench_concurrency,
    bench_memory,
    bench_overhead,
)
from measures_catalog import bench_catalog, catalog_checks, catalog_rows
from measures_cpu import bench_cpu
from measures_inputs import bench_bystander, bench_uploads
from measures_masks import bench_masked
from measures_sessions import bench_sessions
from measures_store import bench_store, store_checks, store_rows
from measures_variations import bench_variations, variations_checks, variations_rows
from qwen_image_edit_mcp import __version__

TARGETS = {
    "async_overhead_3s": 0.15,
    "sync_overhead_3s": 0.05,
    "polls_3s": 6.0,
    "concurrency_32": 1.25,
    "concurrency_128": 1.5,
    "cold_start_delta": 0.25,
    "peak_rss_mib": 160.0,
    "result_bytes": 1024 * 1024,
    "composite_blend_ms": 100.0,
    "composite_peak_mib": 60.0,
    "masked_extra_s": 0.3,
    "cpu_per_edit_ms": 8.0,
    "sessions_rss_growth_mib": 20.0,
    "sessions_list_p95_s": 0.25,
    "store_ops_ms": 5.0,
    "store_two_process_32": 1.3,
    "catalog_share_ms": 2.0,
    "variations_4": 1.3,
}


FULL = Plan(latencies=[1.0, 3.0, 10.0], edits=20, wave=5, levels=[1, 8, 32, 128], cold_runs=7, memory_edits=3)
QUICK = Plan(
    latencies=[0.3],
    edits=4,
    wave=2,
    levels=[1, 4],
    cold_runs=2,
    memory_edits=1,
    masked_edits=1,
    cpu_rounds=2,
    cpu_edits=2,
    handshakes=100,
    store_latency=0.3,
    store_rounds=20,
    store_prefill=20,
    store_two_edits=8,
    store_two_rounds=1,
    store_two_latency=0.5,
    catalog_edits=3,
    variations_edits=1,
    variations_latency=0.2,
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else open(os.devnull) as info:
        names = re.findall(r"model name\s*:\s*(.+)", info.read())
    return f"{names[0] if names else cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {sys.platform}"


def table(results: Results) -> str:
    limits = sorted({r["spend_limit_usd"] for r in results.overhead if r.get("spend_limit_usd") is not None})
    lines = [
        f"qwen-image-edit-mcp {results.version}; {results.machine}"
        + "".join(f"; with a spend limit of ${limit:g}" for limit in limits),
        "",
        "| emulator latency | mode | edits | median overhead | p95 overhead | polls per job |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['latency']:g} s | {r['mode']} | {r['edits']} | {r['median']:.3f} s | {r['p95']:.3f} s "
        f"| {r['polls']:.1f} |"
        for r in results.overhead
    ]
    lines += ["", "| concurrent edits | stdio (one session) | HTTP (one server) |", "|---|---|---|"]
    levels = sorted({r["level"] for r in results.concurrency})
    for level in levels:
        cells = [
            f"{r['wall']:.2f} s ({r['ratio']:.2f}x)"
            for transport in ("stdio", "http")
            for r in results.concurrency
            if r["level"] == level and r["transport"] == transport
        ]
        lines.append(f"| {level} | {' | '.join(cells)} |")
    cold, memory = results.cold_start, results.memory
    lines += ["", "| measure | value |", "|---|---|"]
    if cold:
        lines.append(
            f"| cold start to tools/list (median) | {cold['ours']:.3f} s vs bare SDK server {cold['bare']:.3f} s "
            f"(+{cold['delta']:.3f} s, {cold['ratio']:.2f}x) |"
        )
    if memory:
        lines += [
            f"| peak RSS, three 1536x1536 base64 PNG edits | {memory['peak_rss_mib']:.0f} MiB |",
            f"| largest result | {memory['largest_result_bytes'] / 1024:.0f} KiB |",
        ]
    lines += input_rows(results.inputs)
    if c := results.composite:
        lines += [
            f"| masked edit, 1536x1536 RGBA: mask check, feather, decode the input (before the submit) | "
            f"{c['prepare_ms']:.0f} ms |",
            f"| masked edit: decode the edit / blend / encode PNG / preview from the blend | {c['decode_ms']:.0f} ms / "
            f"{c['blend_ms']:.0f} ms / {c['encode_ms']:.0f} ms / {c.get('preview_ms', 0):.0f} ms |",
            f"| masked edit: peak memory of the whole composite | {c['peak_mib']:.0f} MiB |",
        ]
    if m := results.masked:
        lines.append(
            f"| masked edit: extra time after the job vs the same edit without a mask, 1536x1536 PNG (median of "
            f"{m['runs']:.0f}) | +{m['extra']:.3f} s ({m['masked']:.3f} s vs {m['unmasked']:.3f} s) |"
        )
    if cpu := results.cpu:
        lines.append(
            f"| server CPU per edit, 1024x1024 JPEG, preview included (median of {cpu['rounds']:.0f} rounds of "
            f"{cpu['edits']:.0f}) | {cpu['per_edit_ms']:.1f} ms |"
        )
    lines += session_rows(results.sessions)
    lines += store_rows(results.store)
    lines += catalog_rows(results.catalog)
    lines += variations_rows(results.variations)
    return "\n".join(lines)


def session_rows(sessions: dict[str, float]) -> list[str]:
    if not sessions:
        return []
    ms = {name: value * 1000 for name, value in sessions.items() if name.startswith("list_")}
    return [
        f"| {sessions['handshakes']:,.0f} streamable-HTTP handshakes never closed ({sessions['failed']:.0f} failed): "
        f"server RSS growth | +{sessions['rss_growth_mib']:.1f} MiB |",
        f"| another client's tools/list, calm / during those handshakes (median, p95, max) | "
        f"{ms['list_calm_median']:.1f} ms / {ms['list_flood_median']:.1f} ms, {ms['list_flood_p95']:.1f} ms, "
        f"{ms['list_flood_max']:.1f} ms |",
    ]


def input_rows(inputs: dict[str, float]) -> list[str]:
    rows: list[str] = []
    if "submit_one" in inputs:
        rows += [
            f"| call to submit, one local 1536x1536 PNG (edit) | {inputs['submit_one']:.3f} s |",
            f"| call to submit, three local 1536x1536 PNGs (edit-plus) | {inputs['submit_three']:.3f} s |",
        ]
    if "list_calm" in inputs:
        rows.append(
            f"| another session's tools/list, calm / while the worst inputs are checked (median, max) | "
            f"{inputs['list_calm'] * 1000:.1f} ms / {inputs['list_attacked_median'] * 1000:.1f} ms, "
            f"{inputs['list_attacked_max'] * 1000:.1f} ms |"
        )
    return rows


def verdicts(results: Results) -> list[str]:
    at3 = {r["mode"]: r for r in results.overhead if r["latency"] == 3.0}

    def worst(level: int) -> float | None:
        return max((r["ratio"] for r in results.concurrency if r["level"] == level), default=None)

    def at(mode: str, key: str) -> float | None:
        return at3[mode][key] if mode in at3 else None

    checks: list[tuple[str, float | None, float, str]] = [
        ("median overhead, 3 s, async", at("async", "median"), TARGETS["async_overhead_3s"], "s"),
        ("median overhead, 3 s, sync", at("sync", "median"), TARGETS["sync_overhead_3s"], "s"),
        ("polls per job, 3 s, async", at("async", "polls"), TARGETS["polls_3s"], ""),
        ("32 concurrent vs one (worst transport)", worst(32), TARGETS["concurrency_32"], "x"),
        ("128 concurrent vs one (worst transport)", worst(128), TARGETS["concurrency_128"], "x"),
        ("cold start over the bare SDK server", results.cold_start.get("delta"), TARGETS["cold_start_delta"], "s"),
        ("peak RSS", results.memory.get("peak_rss_mib"), TARGETS["peak_rss_mib"], "MiB"),
        ("largest result", results.memory.get("largest_result_bytes"), TARGETS["result_bytes"], "bytes"),
        ("tools/list while the worst inputs are checked", results.inputs.get("list_attacked_max"), 0.1, "s"),
        ("masked composite: blend, 1536x1536", results.composite.get("blend_ms"), TARGETS["composite_blend_ms"], "ms"),
        ("masked composite: peak memory", results.composite.get("peak_mib"), TARGETS["composite_peak_mib"], "MiB"),
        ("masked edit: extra time after the job", results.masked.get("extra"), TARGETS["masked_extra_s"], "s"),
        ("server CPU per edit", results.cpu.get("per_edit_ms"), TARGETS["cpu_per_edit_ms"], "ms"),
        (
            "RSS growth, abandoned handshakes",
            results.sessions.get("rss_growth_mib"),
            TARGETS["sessions_rss_growth_mib"],
            "MiB",
        ),
        (
            "tools/list p95 during those handshakes",
            results.sessions.get("list_flood_p95"),
            TARGETS["sessions_list_p95_s"],
            "s",
        ),
    ]
    checks += store_checks(results.store, TARGETS)
    checks += catalog_checks(results.catalog, TARGETS["catalog_share_ms"])
    checks += variations_checks(results.variations, TARGETS["variations_4"])
    lines: list[str] = []
    for name, value, target, unit in checks:
        if value is None:
            lines.append(f"- {name}: not measured in this run (target <= {target:g} {unit})")
        else:
            mark = "met" if value <= target else "MISSED"
            lines.append(f"- {name}: {value:.3f} {unit} (target <= {target:g} {unit}): {mark}")
    return lines


SECTIONS: dict[str, Callable[[Plan, Results, Path], Awaitable[None]]] = {
    "overhead-async": partial(bench_overhead, modes=("async",)),
    "overhead-sync": partial(bench_overhead, modes=("sync",)),
    "concurrency-stdio": partial(bench_concurrency, transports=("stdio",)),
    "concurrency-http": partial(bench_concurrency, transports=("http",)),
    "cold-start": bench_cold_start,
    "memory": bench_memory,
    "uploads": bench_uploads,
    "bystander": bench_bystander,
    "composite": bench_composite,
    "masked": bench_masked,
    "cpu": bench_cpu,
    "sessions": bench_sessions,
    "store": bench_store,
    "catalog": bench_catalog,
    "variations": bench_variations,
}


async def main_async(plan: Plan, out: Path, sections: list[str] | None = None) -> Results:
    results = Results(machine=machine(), version=__version__)
    with tempfile.TemporaryDirectory(prefix="qwen-bench-") as temp:
        workdir = Path(temp)
        for name in sections or list(SECTIONS):
            await SECTIONS[name](plan, results, workdir)
    report = table(results) + "\n\nTargets:\n" + "\n".join(verdicts(results)) + "\n"
    print("\n" + report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(report)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps(asdict(results), indent=2))
    print(f"written to {out / 'latest.md'} and {out / f'{stamp}.json'}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results are written")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help="run only this section; repeatable")
    parser.add_argument(
        "--max-spend-usd",
        metavar="USD",
        help="run every server with this spend limit (QWEN_EDIT_MAX_SPEND_USD; its ledger in the store, SQLite in its "
        "cache folder by default): make it large enough for every edit of the run, e.g. 1000",
    )
    parser.add_argument(
        "--store-url",
        metavar="URL",
        help="run every server with its store there (QWEN_EDIT_STORE_URL=redis://...; default: SQLite in its cache "
        "folder); with --max-spend-usd the ledger is in it too",
    )
    args = parser.parse_args()
    env = {"QWEN_EDIT_MAX_SPEND_USD": args.max_spend_usd} if args.max_spend_usd is not None else {}
    if args.store_url is not None:
        env["QWEN_EDIT_STORE_URL"] = args.store_url
    plan = replace(QUICK if args.quick else FULL, env=env)
    anyio.run(main_async, plan, args.out, args.only)


if __name__ == "__main__":
    main()
