"""`qwen-image-edit-mcp demo`: one real edit, end to end, on a machine with nothing but Python.

It starts the WaveSpeed emulator on loopback, launches this server over stdio exactly as a desktop host would (the
SDK's own client, a subprocess, JSON-RPC on its stdin/stdout), asks it to edit an image, prints the progress and
the result, and saves the edited image. With --real it uses the real WaveSpeed API and your WAVESPEED_API_KEY.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import TextContent

from ..reports import PredictionReport
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


async def run_demo(args: argparse.Namespace) -> int:
    if args.real:
        key = os.environ.get("WAVESPEED_API_KEY", "")
        if not key:
            print("--real needs WAVESPEED_API_KEY in the environment.", file=sys.stderr)
            return 2
        return await _edit(args, base_url=os.environ.get("WAVESPEED_BASE_URL", "https://api.wavespeed.ai"), key=key)
    config = EmulatorConfig(api_key=DEMO_KEY, latency=args.latency)
    async with running_emulator(config) as emulator:
        print(f"WaveSpeed emulator (a local stand-in, not the real API) at {emulator.base_url}")
        return await _edit(args, base_url=emulator.base_url, key=DEMO_KEY)


async def _edit(args: argparse.Namespace, *, base_url: str, key: str) -> int:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "WAVESPEED_API_KEY": key,
        "WAVESPEED_BASE_URL": base_url,
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "qwen_image_edit_mcp"], env=env)
    arguments: dict[str, Any] = {
        "image": args.image or sample_image_uri(),
        "prompt": args.prompt,
        "output_format": args.format,
    }
    if args.size:
        arguments["size"] = args.size

    async def show_progress(progress: float, total: float | None, message: str | None) -> None:
        print(f"  [{progress:6.2f} s] {message or ''}")

    async with Client(server) as client:
        tools = await client.list_tools()
        print(f"Server tools: {', '.join(tool.name for tool in tools.tools)}")
        print(f"Calling edit_image(prompt={args.prompt!r}) ...")
        result = await client.call_tool("edit_image", arguments, progress_callback=show_progress)
    text = next((block.text for block in result.content if isinstance(block, TextContent)), "")
    print(text)
    if result.is_error or result.structured_content is None:
        return 1
    report = PredictionReport.model_validate(result.structured_content)
    if report.pending or not report.outputs:
        return 1
    output = report.outputs[0]
    async with httpx.AsyncClient() as http:
        response = await http.get(output, timeout=30)
        response.raise_for_status()
    target = await anyio.Path(args.out or f"edited-{report.prediction_id}.{args.format}").expanduser()
    target = await target.resolve()
    await target.write_bytes(response.content)
    print(f"Saved the edited image to {target} ({len(response.content)} bytes)")
    return 0


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="qwen-image-edit-mcp demo", description=__doc__)
    parser.add_argument("--prompt", default='Change the sign text to "你好 MCP" and make the sky a sunset')
    parser.add_argument("--image", help="image URL or data: URI to edit (default: a generated sample picture)")
    parser.add_argument("--size", help="output size W*H, e.g. 1024*768")
    parser.add_argument("--format", default="jpeg", choices=["jpeg", "png", "webp"])
    parser.add_argument("--latency", type=float, default=3.0, help="emulated job time in seconds (default 3)")
    parser.add_argument("--out", help="where to save the edited image (default ./edited-<id>.<format>)")
    parser.add_argument("--real", action="store_true", help="use the real WaveSpeed API (needs WAVESPEED_API_KEY)")
    args = parser.parse_args(list(argv))
    raise SystemExit(anyio.run(run_demo, args))
