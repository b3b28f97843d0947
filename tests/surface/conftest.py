"""Shared by the HTTP tests: a running emulator, and a log watcher that waits on events, never on timers; and by the
viewer's browser tests: one Chromium per test module (such a module runs its tests on one event loop)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterator
from typing import TYPE_CHECKING

import pytest
from view_support import launched_browser, require_browser

from fakes import API_KEY
from http_harness import LogWatch
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator

if TYPE_CHECKING:
    from playwright.async_api import Browser


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


@pytest.fixture(scope="module")
def browser_installed() -> None:
    require_browser()  # a skip from a plain fixture: raised inside the event loop, it would count as an error


@pytest.fixture(scope="module")
async def browser(browser_installed: None) -> AsyncGenerator[Browser]:
    async with launched_browser() as launched:
        yield launched
