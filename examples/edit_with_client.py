"""Edit a local image through the MCP server over stdio, with the MCP Python SDK's client, and save the result.

    WAVESPEED_API_KEY=... python examples/edit_with_client.py photo.jpg "add a red umbrella" --out edited.jpg

The server is started as a subprocess, the way a desktop host starts it. It may read the image because its folder
is passed as QWEN_EDIT_ALLOWED_DIRS; it uploads it to WaveSpeed, edits it, and the result is downloaded here.
Set WAVESPEED_BASE_URL to point at the emulator (`qwen-image-edit-mcp emulator`) to try it without a key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import TextContent


async def edit(image: Path, prompt: str, out: Path | None) -> int:
    env = {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME", "WAVESPEED_API_KEY", "WAVESPEED_BASE_URL", "QWEN_EDIT_CACHE_DIR")
    }
    env["QWEN_EDIT_ALLOWED_DIRS"] = str(image.parent)  # let the server read this one folder, nothing else
    server = StdioServerParameters(command=sys.executable, args=["-m", "qwen_image_edit_mcp"], env=env)

    async def show(progress: float, total: float | None, message: str | None) -> None:
        print(f"[{progress:6.2f} s] {message}")

    async with Client(server) as client:
        result = await client.call_tool("edit_image", {"image": str(image), "prompt": prompt}, progress_callback=show)
    print(next((b.text for b in result.content if isinstance(b, TextContent)), ""))
    report: dict[str, Any] = result.structured_content or {}
    if result.is_error or report.get("pending") or not report.get("outputs"):
        return 1
    url: str = report["outputs"][0]
    async with httpx.AsyncClient() as http:
        response = await http.get(url, timeout=60)
        response.raise_for_status()
    target = out or Path(f"edited-{report['prediction_id']}{Path(url).suffix or '.jpeg'}")
    target.write_bytes(response.content)
    print(f"saved {target} ({len(response.content)} bytes)")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, help="a local image file")
    parser.add_argument("prompt", help="what to change, in English or Chinese")
    parser.add_argument("--out", type=Path, help="where to save the edited image")
    args = parser.parse_args()
    raise SystemExit(anyio.run(edit, args.image.expanduser().resolve(), args.prompt, args.out))


if __name__ == "__main__":
    main()
