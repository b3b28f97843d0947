"""The one wrapper every tool call runs in: the key check first, then every refusal turned into a tool error.

A tool error (`isError: true`) is what the model can read and act on; anything else would reach the client as the
SDK's bare "Error executing tool". After a prediction exists the use cases return outcomes instead of raising, so
what arrives here is always a failure from before any job (or a look-up that found nothing).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from ..errors import InputError, MissingApiKeyError, WaveSpeedError
from ..jobs.outcome import NoPrediction
from ..jobs.runtime import Runtime


@asynccontextmanager
async def guarded(ctx: Context[Runtime, Any], action: str) -> AsyncGenerator[Runtime]:
    """The runtime, for a call that may go ahead. `action` completes "Could not ..." in WaveSpeed's refusals."""
    runtime = ctx.request_context.lifespan_context
    if not runtime.upstream.has_api_key:
        raise ToolError(MissingApiKeyError().message)
    try:
        yield runtime
    except (InputError, NoPrediction) as exc:
        raise ToolError(str(exc)) from None
    except WaveSpeedError as exc:
        raise ToolError(f"Could not {action}: {exc.message}") from None
