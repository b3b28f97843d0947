"""What inputs cost: the time from the call to the submit for one and for three local 1536x1536 PNGs (the uploads
run concurrently), and how promptly another session is served while one sends the worst inputs found."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import anyio
from mcp import Client
from PIL import Image

from measures import KEY, Plan, Results, http_client, http_server, server_env, stdio_session
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator

MiB = 1024 * 1024
# The worst input found for each check, each under the HTTP body limit (4 MiB).
WORST = [
    {"image": "A" * 64 + " " * (3 * MiB) + "!"},
    {"image": "data:image/png;base64," + "A" * (3 * MiB)},
    {"image": "https://example.com/" + "a" * (3 * MiB)},
    {"image": "/" + "a/" * MiB},
    {"size": "1" * MiB + "*" + "1" * MiB + "!"},
]


def noisy_png(path: Path, seed: int) -> str:
    Image.effect_noise((1536, 1536), 40 + seed).convert("RGB").save(path, compress_level=1)
    return str(path)


async def time_to_submit(client: Client, arguments: dict[str, object]) -> float:
    """Seconds from sending the call to the progress note that says the submit goes out."""
    started, submitted = time.perf_counter(), 0.0

    async def note(progress: float, total: float | None, message: str | None) -> None:
        nonlocal submitted
        if not submitted and (message or "").startswith("submitting"):
            submitted = time.perf_counter() - started

    await client.call_tool("edit_image", {"prompt": "bench", "wait_seconds": 0, **arguments}, progress_callback=note)
    return submitted


async def bench_uploads(plan: Plan, results: Results, workdir: Path) -> None:
    pictures = workdir / "pictures"
    pictures.mkdir(exist_ok=True)
    async with running_emulator(EmulatorConfig(api_key=KEY, latency=0.2)) as emulator:
        env = {**server_env(emulator, workdir, plan), "QWEN_EDIT_ALLOWED_DIRS": str(pictures)}
        one: list[float] = []
        three: list[float] = []
        async with stdio_session(env, workdir / "uploads.log") as client:
            for round_ in range(max(1, plan.memory_edits)):
                # Fresh bytes every round: a repeated image is reused from the upload cache, not uploaded.
                paths = [noisy_png(pictures / f"r{round_}-{n}.png", round_ * 3 + n) for n in range(4)]
                one.append(await time_to_submit(client, {"image": paths[0]}))
                three.append(await time_to_submit(client, {"model": "edit-plus", "images": paths[1:]}))
    figures = {"submit_one": statistics.median(one), "submit_three": statistics.median(three)}
    results.inputs.update(figures)
    print(f"inputs: call to submit, one 1536 PNG {figures['submit_one']:.3f}s, three {figures['submit_three']:.3f}s")


async def bench_bystander(plan: Plan, results: Results, workdir: Path) -> None:
    during: list[float] = []
    done = anyio.Event()

    async def attack(client: Client) -> None:
        for arguments in WORST:
            await client.call_tool("edit_image", {"prompt": "p", "image": "https://e.com/a.png", **arguments})
        done.set()

    async with (
        running_emulator(EmulatorConfig(api_key=KEY, latency=0.2)) as emulator,
        http_server(server_env(emulator, workdir, plan)) as port,
        http_client(port) as attacker,
        http_client(port) as bystander,
    ):
        calm = [await _timed_list(bystander) for _ in range(10)]
        async with anyio.create_task_group() as group:
            group.start_soon(attack, attacker)
            while not done.is_set():
                during.append(await _timed_list(bystander))
    figures = {"list_calm": statistics.median(calm), "list_attacked_median": statistics.median(during)}
    figures["list_attacked_max"] = max(during)
    results.inputs.update(figures)
    print(
        f"inputs: tools/list calm {figures['list_calm'] * 1000:.1f} ms; under the worst inputs median "
        f"{figures['list_attacked_median'] * 1000:.1f} ms, max {figures['list_attacked_max'] * 1000:.1f} ms"
    )


async def _timed_list(client: Client) -> float:
    started = time.perf_counter()
    await client.list_tools()
    return time.perf_counter() - started
