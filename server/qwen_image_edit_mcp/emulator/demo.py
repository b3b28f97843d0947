"""`qwen-image-edit-mcp demo`: one real edit, end to end, on a machine with nothing but Python.

It starts the WaveSpeed emulator on loopback, launches this server over stdio exactly as a desktop host would (the
SDK's own client, a subprocess, JSON-RPC on its stdin/stdout), asks it to edit an image, prints the progress and
what happened, and saves the edited image. With --real it uses the real WaveSpeed API and your WAVESPEED_API_KEY.
What it prints is for the person at the terminal: the status, the prediction id, the time and where the file is.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import CallToolResult, TextContent

from ..reports import PredictionReport
from .demo_options import DemoOptions, parse
from .faults import EmulatorConfig
from .server import running_emulator

DEMO_KEY = "demo-key-for-the-local-emulator"


def sample_image_uri() -> str:
    """A small picture with a sign on it, as a data: URI: something to edit without any file or network."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (512, 384), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 280, 512, 384), fill=(90, 160, 80))
    draw.ellipse((380, 30, 460, 110), fill=(250, 220, 80))
    draw.rectangle((150, 150, 360, 230), fill=(250, 250, 245), outline=(60, 60, 60), width=4)
    draw.text((200, 180), "HELLO WORLD", fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


async def run_demo(options: DemoOptions) -> int:
    if options.real:
        key = os.environ.get("WAVESPEED_API_KEY", "")
        if not key:
            print("qwen-image-edit-mcp demo: --real needs WAVESPEED_API_KEY in the environment", file=sys.stderr)
            return 2
        base_url = os.environ.get("WAVESPEED_BASE_URL", "https://api.wavespeed.ai")
        return await _edit(options, base_url=base_url, key=key)
    config = EmulatorConfig(api_key=DEMO_KEY, latency=options.latency)
    async with running_emulator(config) as emulator:
        print(f"WaveSpeed emulator (a local stand-in, not the real API) at {emulator.base_url}")
        return await _edit(options, base_url=emulator.base_url, key=DEMO_KEY)


def _server(options: DemoOptions, *, base_url: str, key: str) -> StdioServerParameters:
    """This server as a desktop host starts it; it may read the one folder of the file the user named."""
    env = {"PATH": os.environ.get("PATH", ""), "WAVESPEED_API_KEY": key, "WAVESPEED_BASE_URL": base_url}
    if options.allowed_dirs:
        env["QWEN_EDIT_ALLOWED_DIRS"] = os.pathsep.join(str(folder) for folder in options.allowed_dirs)
    args = ["-m", "qwen_image_edit_mcp", "--log-level", "WARNING"]  # the demo says what happens; warnings still show
    return StdioServerParameters(command=sys.executable, args=args, env=env)


def _arguments(options: DemoOptions) -> dict[str, Any]:
    # A person waits at the terminal: longer than a desktop host would, so the edit finishes within the call.
    wait = 300.0 if options.real else min(900.0, options.latency + 60)
    images = list(options.images) or [sample_image_uri()]
    arguments: dict[str, Any] = {
        "model": options.model,
        **({"images": images} if len(images) > 1 else {"image": images[0]}),
        "prompt": options.prompt,
        "output_format": options.output_format,
        "wait_seconds": wait,
    }
    if options.size:
        arguments["size"] = options.size
    if options.mask:
        arguments["mask"] = options.mask
    return arguments


async def _edit(options: DemoOptions, *, base_url: str, key: str) -> int:
    async def show_progress(progress: float, total: float | None, message: str | None) -> None:
        print(f"  [{progress:6.2f} s] {message or ''}")

    launched = time.monotonic()
    async with Client(_server(options, base_url=base_url, key=key)) as client:
        tools = await client.list_tools()
        start_up = time.monotonic() - launched  # the server's launch, up to its tool list: not part of the edit
        print(f"Server tools: {', '.join(tool.name for tool in tools.tools)} (started in {start_up:.1f} s)")
        what = ", ".join(map(_named, options.images)) or "a generated sample picture"
        print(f"Editing {what}: {options.prompt} (model {options.model})")
        called = time.monotonic()
        result = await client.call_tool("edit_image", _arguments(options), progress_callback=show_progress)
        elapsed = time.monotonic() - called
    report = finished(result, elapsed)
    if report is None:
        return 1
    polls = f"{report.polls} poll{'s' if report.polls != 1 else ''}"
    job = "" if options.real else f"; the emulated job takes {options.latency:g} s"
    print(
        f"Edit completed: prediction {report.prediction_id}, status {report.status}, in {elapsed:.1f} s from the "
        f"call to the result ({polls}{job})."
    )
    if report.masked and report.mask_coverage is not None:
        kept = "exactly" if options.output_format != "jpeg" else "up to the JPEG encoding"
        share = f"{report.mask_coverage:.1%}"
        print(f"Masked: the edit may change {share} of the picture; the rest is the input's, {kept}.")
    if options.real:
        print(f"Output URL (WaveSpeed keeps it for 7 days): {report.outputs[0]}")
    return await _save(report, options)


def _named(image: str) -> str:
    """How the printout names a picture: its path or URL, but a data: URI by its size, not its megabytes of text."""
    return f"a data: URI ({len(image):,} characters)" if image[:5].lower() == "data:" else image


def finished(result: CallToolResult, elapsed: float) -> PredictionReport | None:
    """The report of a completed edit with an output; anything else is said in one line, and is None."""
    if result.structured_content is None:
        text = next((block.text for block in result.content if isinstance(block, TextContent)), "")
        reason = text.removeprefix("Error executing tool edit_image: ").strip() or "no reason given"
        print(f"The server refused the edit: {reason.splitlines()[0]}", file=sys.stderr)
        return None
    report = PredictionReport.model_validate(result.structured_content)
    if report.pending:
        print(
            f"Still running after {elapsed:.0f} s: prediction {report.prediction_id} ({report.status}). It goes on at "
            "WaveSpeed: look it up later with get_prediction, or on your WaveSpeed dashboard.",
            file=sys.stderr,
        )
        return None
    if result.is_error or not report.outputs:
        reason = report.error or "no output was returned"
        code = f" (code {report.error_code})" if report.error_code else ""
        print(
            f"Edit failed: prediction {report.prediction_id}, status {report.status}: {reason}{code}", file=sys.stderr
        )
        return None
    return report


async def _save(report: PredictionReport, options: DemoOptions) -> int:
    name = f"edited-{report.prediction_id}.{options.output_format}"
    target = options.out or Path.cwd()
    if target.is_dir():
        target = target / name
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(report.outputs[0], timeout=60)
            response.raise_for_status()
        await anyio.Path(target).write_bytes(response.content)
    except (httpx.HTTPError, OSError) as error:
        print(f"Could not save the edited image to {target}: {error}", file=sys.stderr)
        return 1
    print(f"Saved the edited image to {target} ({len(response.content):,} bytes)")
    return 0


def main(argv: Sequence[str]) -> None:
    raise SystemExit(anyio.run(run_demo, parse(argv)))
