"""Progress notifications for one tool call: elapsed seconds as the value, what is happening as the message."""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.mcpserver import Context

from ..clock import Clock

log = logging.getLogger(__name__)


class Progress:
    """A `ProgressFn`. The value strictly increases, as the spec asks, even when two messages share a clock tick."""

    def __init__(self, ctx: Context[Any, Any], clock: Clock) -> None:
        self._ctx, self._clock, self._started, self._last = ctx, clock, clock.now(), 0.0

    async def __call__(self, message: str) -> None:
        value = max(round(self._clock.now() - self._started, 2), round(self._last + 0.01, 2))
        self._last = value
        try:
            await self._ctx.report_progress(value, None, message)
        except Exception:  # a client that went away must not break the edit it paid for
            log.debug("progress notification not delivered", exc_info=True)
