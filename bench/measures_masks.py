"""A masked edit end to end, through our server's own process and the emulator: the time from the progress note
"completed; preparing the result" to having the result, with a mask and for the same 1536x1536 PNG edit without
one. The difference is what the mask costs after the job (compositing, its upload, its preview); what it costs
before the submit (reading the mask, checking it) is not in it."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from mcp import Client

from compositing import NAMES, make_pictures
from measures import KEY, Plan, Results, server_env, stdio_session
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator

# Fixed, the same for both: the emulator renders its output while the job runs (a poll that finds it due waits for
# the rendering), so nothing of it falls after the note that the job completed.
LATENCY = 1.0


async def after_the_job(client: Client, arguments: dict[str, Any], *, masked: bool) -> float:
    """Seconds from the note that the job completed to the result, which must be a completed (masked) edit."""
    completed_at = 0.0

    async def note(progress: float, total: float | None, message: str | None) -> None:
        nonlocal completed_at
        if not completed_at and "completed; preparing the result" in (message or ""):
            completed_at = time.perf_counter()

    result = await client.call_tool("edit_image", arguments, progress_callback=note)
    done = time.perf_counter()
    report: dict[str, Any] = result.structured_content or {}
    if result.is_error or report.get("status") != "completed" or report.get("masked") is not masked:
        raise RuntimeError(f"a {'masked ' if masked else ''}edit did not complete: {result.content}")
    if not completed_at:
        raise RuntimeError("no progress note said the job completed")
    return done - completed_at


async def bench_masked(plan: Plan, results: Results, workdir: Path) -> None:
    pictures = workdir / "pictures"
    if not all((pictures / name).exists() for name in NAMES):
        make_pictures(pictures)
    source, _, mask = (str(pictures / name) for name in NAMES)
    plain = {"image": source, "output_format": "png"}
    with_mask = {**plain, "mask": str(mask)}
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=LATENCY)) as emulator:
        env = {**server_env(emulator, workdir, plan), "QWEN_EDIT_ALLOWED_DIRS": str(pictures)}
        async with stdio_session(env, workdir / "masked.log") as client:
            # Warm up: imports done, the input's upload cached (it happens before the submit anyway).
            await after_the_job(client, {**with_mask, "prompt": "bench"}, masked=True)
            unmasked: list[float] = []
            masked: list[float] = []
            for run in range(plan.masked_edits):  # alternated, so a busy moment of the machine weighs on both
                # A new prompt every run: the emulator tints by it, so every composite is new and really uploaded
                # (an identical one would be found in the upload cache).
                unmasked.append(await after_the_job(client, {**plain, "prompt": f"bench {run}"}, masked=False))
                masked.append(await after_the_job(client, {**with_mask, "prompt": f"bench {run}"}, masked=True))
    figures = {"unmasked": statistics.median(unmasked), "masked": statistics.median(masked)}
    figures["extra"] = figures["masked"] - figures["unmasked"]
    figures["runs"] = float(plan.masked_edits)
    results.masked = figures
    print(
        f"masked edit: after the job {figures['masked']:.3f}s vs {figures['unmasked']:.3f}s without a mask "
        f"(+{figures['extra']:.3f}s, median of {plan.masked_edits})"
    )
