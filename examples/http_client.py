"""Edit an image through a remote qwen-image-edit-mcp over streamable HTTP, with a bearer token, and save it.

    export QWEN_EDIT_AUTH_TOKEN=$(openssl rand -hex 32)
    qwen-image-edit-mcp --transport streamable-http --port 8000 &     # add the WaveSpeed settings it should use
    QWEN_EDIT_URL=http://127.0.0.1:8000/mcp \\
        python examples/http_client.py https://example.com/street.jpg "add a red umbrella" --out edited.jpg

A connection or auth failure is one line that names its cause (401: check the token), not a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2  # the MCP SDK's HTTP client library
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

HTTP_ADVICE = {
    401: "401 Unauthorized: the server refused the token; check QWEN_EDIT_AUTH_TOKEN (it must be the server's token)",
    403: "403 Forbidden: the server refused this client's Origin (see --allowed-origin)",
    404: "404 Not Found: no MCP endpoint there; check QWEN_EDIT_URL (it ends in /mcp)",
    421: "421 Misdirected Request: the server does not answer to this host name (see --allowed-host)",
}


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    inner: Sequence[BaseException] = getattr(error, "exceptions", ())  # an exception group's members
    return [leaf for exception in inner for leaf in leaves(exception)] if inner else [error]


def explain(error: Exception, statuses: list[int], url: str) -> str:
    """One line naming the cause: the HTTP status the server answered, or why no connection was made."""
    for status in statuses:
        if status in HTTP_ADVICE:
            return f"{url}: {HTTP_ADVICE[status]}"
    if statuses:
        return f"{url}: the server answered HTTP {statuses[0]}"
    leaf = leaves(error)[0]
    if isinstance(leaf, httpx2.ConnectError):
        return f"cannot connect to {url}: is the server running there? ({leaf})"
    if isinstance(leaf, httpx2.TimeoutException):
        return f"{url} did not answer in time"
    return f"{url}: {type(leaf).__name__}: {leaf}"


async def edit(url: str, token: str, image: str, prompt: str, out: Path | None) -> int:
    async def show(progress: float, total: float | None, message: str | None) -> None:
        print(f"[{progress:6.2f} s] {message}")

    statuses: list[int] = []

    async def remember(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx2.Timeout(30, read=900)
    try:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=timeout, event_hooks={"response": [remember]}) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("edit_image", {"image": image, "prompt": prompt}, progress_callback=show)
    except Exception as error:  # the SDK's task groups wrap the cause: name it in one line
        print(f"http_client: {explain(error, statuses, url)}", file=sys.stderr)
        return 1
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
