"""Our server as a desktop host runs it: a subprocess over stdio, cwd '/', a bare PATH, stderr captured."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from fakes import API_KEY, SCAN
from harness import pictures_dir
from qwen_image_edit_mcp.emulator import RunningEmulator


@dataclass
class ServerLog:
    """stderr lines as they arrive; `wait_for` blocks on an event, never on a timer."""

    lines: list[str] = field(default_factory=list[str])
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def add(self, line: str) -> None:
        self.lines.append(line)
        SCAN.add(line)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        with anyio.fail_after(timeout):
            while True:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
                await self._changed.wait()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@asynccontextmanager
async def stdio_server(
    env: dict[str, str], *, args: tuple[str, ...] = (), **client_options: Any
) -> AsyncGenerator[tuple[Client, ServerLog]]:
    """The server as a subprocess with `env` (on a bare PATH); `env` must name its own QWEN_EDIT_CACHE_DIR.
    `client_options` go to the SDK's Client (mode, elicitation_callback)."""
    if not env.get("QWEN_EDIT_CACHE_DIR"):
        # Otherwise it would share the user's upload cache, and with it URLs another run's emulator handed out.
        raise ValueError("a launched server needs its own QWEN_EDIT_CACHE_DIR, in the test's tmp_path")
    read_fd, write_fd = os.pipe()
    log = ServerLog()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qwen_image_edit_mcp", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd="/",
    )
    # The write end closes first, so the reader thread sees EOF before its file is closed under it.
    with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as reader, os.fdopen(write_fd, "w") as errlog:
        async with anyio.create_task_group() as group:

            async def pump() -> None:
                while line := await anyio.to_thread.run_sync(reader.readline, abandon_on_cancel=True):
                    log.add(line.rstrip("\n"))

            group.start_soon(pump)
            try:
                async with Client(stdio_client(params, errlog=errlog), **client_options) as client:
                    yield client, log
            finally:
                group.cancel_scope.cancel()


def server_env(emulator: RunningEmulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_OUTPUT_DIR": str(tmp_path / "outputs"),
        "QWEN_EDIT_ALLOWED_DIRS": str(pictures_dir(tmp_path)),
        "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }
