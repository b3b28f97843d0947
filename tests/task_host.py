"""A task-capable host for the tests: FastMCP's client in its own virtualenv (tests/task_client/), driven by a plan.

The virtualenv is built once per `.venv` from the pinned, hashed requirements (about 20 s), under a file lock so
that two test workers never build it at once, and built again when the requirements change. `.ci/run` builds it
before the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

from fakes import SCAN
from task_client.build import build

ROOT = Path(__file__).resolve().parent.parent
CLIENT_DIR = ROOT / "tests" / "task_client"
VENV = ROOT / ".venv" / "task-client"  # inside .venv: never packed, copied or committed, and rebuilt with it
DRIVE_SECONDS = 180.0


def task_client_python() -> Path:
    """The virtualenv's python, built first if it is missing or older than the requirements."""
    return build(VENV)


def stdio_session(env: dict[str, str], steps: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """A session with our server as the host would start it: a subprocess, cwd '/', a bare PATH."""
    command = {"command": sys.executable, "args": ["-m", "qwen_image_edit_mcp"], "cwd": "/"}
    return {"stdio": {**command, "env": {"PATH": "/usr/bin:/bin", **env}}, "steps": steps, **options}


def http_session(url: str, token: str | None, steps: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return {"http": {"url": f"{url}/mcp", "token": token}, "steps": steps, **options}


async def drive(*sessions: dict[str, Any]) -> dict[str, Any]:
    """Run the sessions one after another in the host; what it saw, as JSON."""
    python = await anyio.to_thread.run_sync(task_client_python)
    plan = json.dumps({"sessions": list(sessions)}).encode()
    with anyio.fail_after(DRIVE_SECONDS):
        done = await anyio.run_process(
            [str(python), str(CLIENT_DIR / "drive.py")], input=plan, check=False, stderr=subprocess.PIPE
        )
    SCAN.add(done.stdout.decode(errors="replace"))  # what a host saw: no key, no token, as everywhere else
    SCAN.add(done.stderr.decode(errors="replace"))
    if done.returncode != 0:
        raise AssertionError(f"the task host failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


@asynccontextmanager
async def http_replica(env: dict[str, str], port: int) -> AsyncGenerator[str]:
    """The server as its own process over streamable HTTP on `port`, once it answers /healthz; its URL."""
    command = [sys.executable, "-m", "qwen_image_edit_mcp", "--transport", "streamable-http", "--port", str(port)]
    process = await anyio.open_process(command, env={"PATH": "/usr/bin:/bin", **env}, cwd="/")
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            with anyio.fail_after(30):
                while True:
                    try:
                        if (await http.get(f"{url}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
        await process.aclose()
