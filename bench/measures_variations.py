"""Variations (jobs/start.py `start_all`): what asking for 4 of an edit costs in time next to asking for 1.

One stdio server, 3 s jobs: single edits and 4-variation edits alternated, after one warm-up of each; the wall time
of each call from the caller's side. The 4 are submitted and followed side by side, so the ratio of the medians should
stay near 1 (target 1.3x); what it adds is 4 submits, 4 poll loops and 4 previews instead of 1.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from measures import IMAGE, Plan, Results, server_env, stdio_session
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator

KEY = "bench-key"
COUNT = 4


async def bench_variations(plan: Plan, results: Results, workdir: Path) -> None:
    latency = plan.variations_latency
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=latency)) as emulator:
        env = {**server_env(emulator, workdir, plan), "WAVESPEED_API_KEY": KEY}
        async with stdio_session(env, workdir / "variations.log") as client:
            walls: dict[int, list[float]] = {1: [], COUNT: []}
            for round_ in range(plan.variations_edits + 1):
                for count in walls:
                    started = time.perf_counter()
                    result = await client.call_tool(
                        "edit_image", {"image": IMAGE, "prompt": "bench", "variations": count}
                    )
                    elapsed = time.perf_counter() - started
                    report: dict[str, Any] = result.structured_content or {}
                    rows: list[dict[str, Any]] = report.get("variations") or [report]
                    if result.is_error or any(row.get("status") != "completed" for row in rows):
                        raise RuntimeError(f"a variations edit did not complete: {result.content}")
                    if round_:  # the first of each is a warm-up
                        walls[count].append(elapsed)
    one, four = statistics.median(walls[1]), statistics.median(walls[COUNT])
    results.variations = {
        "latency": latency,
        "edits": plan.variations_edits,
        "one_s": one,
        "four_s": four,
        "ratio": four / one,
    }
    print(f"variations: 1 edit {one:.2f} s, {COUNT} variations {four:.2f} s ({four / one:.2f}x)")


def variations_rows(variations: dict[str, Any]) -> list[str]:
    if not variations:
        return []
    return [
        f"| {COUNT} variations of a {variations['latency']:g} s job vs one edit (stdio, median of "
        f"{variations['edits']} each, alternated) | {variations['four_s']:.2f} s vs {variations['one_s']:.2f} s "
        f"({variations['ratio']:.2f}x) |"
    ]


def variations_checks(variations: dict[str, Any], target: float) -> list[tuple[str, float | None, float, str]]:
    return [(f"{COUNT} variations vs one edit", variations.get("ratio"), target, "x")]
