"""The live catalog's cost (upstream/catalog.py): what choosing a model through it adds to an edit once it is cached,
and what a cold read of a catalog of WaveSpeed's size costs the one call that makes it.

- Overhead rows: one stdio server, edits on a built-in model (`edit`) and on a catalog-only one (`edit-2.1`)
  alternated, after one warm-up edit each (that one reads the catalog); each edit's tool time minus the emulator's
  latency. The difference of the medians is the catalog's share, checked against a target of 2 ms (noise on this
  machine is about that).
- A resolve on a cached catalog, in this process: the median of many.
- A cold read: `scan()` (in the worker thread the server runs it in) over a catalog of 700 entries of WaveSpeed's
  shape (the emulator's, padded with other families' models): what the first edit of the hour waits for, beside the
  fetch itself.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any

from measures import Plan, Results, server_env, stdio_session, timed_edit
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator
from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.upstream.catalog import Catalog
from qwen_image_edit_mcp.upstream.catalog_scan import scan

KEY = "bench-key"
LATENCY = 1.0
MODELS = {"built-in": "edit", "catalog": "edit-2.1"}
CATALOG_SIZE = 700  # about what WaveSpeed lists across every family
RESOLVES = 10_000


async def bench_catalog(plan: Plan, results: Results, workdir: Path) -> None:
    figures: dict[str, Any] = {"latency": LATENCY}
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=LATENCY)) as emulator:
        env = {**server_env(emulator, workdir, plan), "WAVESPEED_API_KEY": KEY}
        async with stdio_session(env, workdir / "catalog.log") as client:
            overheads: dict[str, list[float]] = {kind: [] for kind in MODELS}
            for round_ in range(plan.catalog_edits + 1):
                for kind, model in MODELS.items():
                    elapsed, _ = await timed_edit(client, {"model": model})
                    if round_:  # the first of each reads the catalog (once for both): a warm-up
                        overheads[kind].append(elapsed - LATENCY)
        reads = sum(1 for entry in emulator.state.request_log() if entry["path"] == "/api/v3/models")
    figures.update({f"{kind}_ms": statistics.median(values) * 1000 for kind, values in overheads.items()})
    figures.update(edits=plan.catalog_edits, catalog_reads=reads)
    figures["difference_ms"] = figures["catalog_ms"] - figures["built-in_ms"]
    figures.update(await _in_process())
    results.catalog = figures
    print(
        f"catalog: overhead {figures['built-in_ms']:.1f} ms built-in, {figures['catalog_ms']:.1f} ms catalog "
        f"({figures['difference_ms']:+.1f} ms); resolve {figures['resolve_us']:.1f} us; cold scan "
        f"{figures['scan_ms']:.1f} ms for {figures['catalog_mib']:.1f} MiB"
    )


async def _in_process() -> dict[str, float]:
    entries = _wavespeed_sized()

    async def fetch() -> list[object]:
        return entries

    catalog = Catalog(fetch, None, key="bench")
    await catalog.resolve("edit-2.1")  # the cold read
    started = time.perf_counter()
    for _ in range(RESOLVES):
        await catalog.resolve("edit-2.1")
    resolve_us = (time.perf_counter() - started) / RESOLVES * 1e6
    scans: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        scan(entries)
        scans.append(time.perf_counter() - started)
    return {
        "resolve_us": resolve_us,
        "scan_ms": statistics.median(scans) * 1000,
        "catalog_mib": len(json.dumps(entries)) / 2**20,
        "catalog_entries": len(entries),
    }


def _wavespeed_sized() -> list[object]:
    """The emulator's catalog padded with other families' models (their schemas as large as a Qwen one's)."""
    entries: list[object] = [copy.deepcopy(entry) for entry in BUILT_IN_MODELS]
    template = next(entry for entry in BUILT_IN_MODELS if entry["model_id"] == "google/nano-banana/edit")
    for index in range(CATALOG_SIZE - len(entries)):
        entry = copy.deepcopy(template)
        entry["model_id"] = f"vendor-{index % 40}/model-{index}/edit"
        entries.append(entry)
    return entries


def catalog_rows(catalog: dict[str, Any]) -> list[str]:
    if not catalog:
        return []
    return [
        f"| overhead of an edit, the model resolved through the cached catalog vs a built-in one ({LATENCY:g} s jobs, "
        f"median of {catalog['edits']} each, alternated; {catalog['catalog_reads']} catalog read in all) | "
        f"{catalog['catalog_ms']:.1f} ms vs {catalog['built-in_ms']:.1f} ms ({catalog['difference_ms']:+.1f} ms) |",
        f"| resolving a model on the cached catalog (in process, median of {RESOLVES:,}) | "
        f"{catalog['resolve_us']:.1f} us |",
        f"| the cold read's scan of a catalog of {catalog['catalog_entries']:.0f} models "
        f"({catalog['catalog_mib']:.1f} MiB), in a worker thread | {catalog['scan_ms']:.1f} ms |",
    ]


def catalog_checks(catalog: dict[str, Any], target_ms: float) -> list[tuple[str, float | None, float, str]]:
    difference = catalog.get("difference_ms")
    return [("the cached catalog's share of an edit's overhead", difference, target_ms, "ms")]
