"""Time as a dependency: the server's waits and the emulator's job timeline both read this.

Production code uses `SystemClock`; tests hand the server and the emulator one shared fake clock so that a
"3 second" job completes without anyone sleeping for real.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
