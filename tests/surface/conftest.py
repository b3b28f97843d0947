"""Shared by the HTTP tests: a running emulator, and a log watcher that waits on events, never on timers."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterator

import pytest

from fakes import API_KEY
from http_harness import LogWatch
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        yield running


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    watch = LogWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    level = root.level
    root.setLevel(logging.INFO)
    yield watch
    root.removeHandler(watch)
    root.setLevel(level)
