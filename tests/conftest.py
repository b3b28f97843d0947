"""Shared fixtures: the anyio backend and a fresh fake clock per test."""

from __future__ import annotations

import pytest

from fakes import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
