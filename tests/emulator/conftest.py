"""Fixtures for the emulator's tests: its state on the shared fake clock and an in-memory client."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx
import pytest
from emulator_helpers import API_KEY

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(EmulatorConfig(api_key=API_KEY, latency=3.0, sync_timeout=90.0), clock=clock)


@pytest.fixture
async def client(state: EmulatorState) -> AsyncGenerator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_emulator_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http
