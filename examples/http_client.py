"""Edit an image through a remote qwen-image-edit-mcp over streamable HTTP, with a bearer token, and save it.

    qwen-image-edit-mcp --transport streamable-http --port 8000     # with QWEN_EDIT_AUTH_TOKEN set
    QWEN_EDIT_URL=http://127.0.0.1:8000/mcp QWEN_EDIT_AUTH_TOKEN=... \\
        python examples/http_client.py https://example.com/street.jpg "add a red umbrella" --out edited.jpg
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2  # the MCP SDK's HTTP client library
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent


async def edit(url: str, token: str, image: str, prompt: str, out: Path | None) -> int:
    async def show(progress: float, total: float | None, message: str | None) -> None:
        print(f"[{progress:6.2f} s] {message}")

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=900)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("edit_image", {"image": image, "prompt": prompt}, progress_callback=show)
    print(next((b.text for b in result.content if isinstance(b, TextContent)), ""))
    report: dict[str, Any] = result.structured_content or {}
    if result.is_error or report.get("pending") or not report.get("outputs"):
        return 1
    output: str = report["outputs"][0]
    async with httpx.AsyncClient() as download:
        response = await download.get(output, timeout=60)
        response.raise_for_status()
    target = out or Path(f"edited-{report['prediction_id']}{Path(output).suffix or '.jpeg'}")
    target.write_bytes(response.content)
    print(f"saved {target} ({len(response.content)} bytes)")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="a public image URL (or a data: URI)")
    parser.add_argument("prompt", help="what to change, in English or Chinese")
    parser.add_argument("--out", type=Path, help="where to save the edited image")
    args = parser.parse_args()
    url = os.environ.get("QWEN_EDIT_URL", "http://127.0.0.1:8000/mcp")
    token = os.environ.get("QWEN_EDIT_AUTH_TOKEN", "")
    if not token:
        parser.error("set QWEN_EDIT_AUTH_TOKEN to the server's token")
    raise SystemExit(anyio.run(edit, url, token, args.image, args.prompt, args.out))


if __name__ == "__main__":
    main()
