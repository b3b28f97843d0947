"""The app-only `recent_edits`: this deployment's recent edits, from its job journal, for the viewer's strip.

The journal is shared by every replica on the store, so the strip shows the deployment's edits, not one process's.
Only what a result already handed out is listed (the outputs under each job's id, or its kept composite), so the
viewer can preview every thumbnail through `preview_image`. Like `preview_image`, it is kept from the model's
tools/list for a client without Apps, and from its output schema: only the view reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from ..jobs.journal import LOOKUP_SECONDS
from ..jobs.runtime import Runtime
from ..state.store import JobRecord, StoreUnavailable
from ..upstream.curated import short_name
from .viewer import VIEWER_URI, Viewer

Limit = Annotated[int, Field(ge=1, le=24)]


class RecentEdit(BaseModel):
    prediction_id: str
    model: str
    variant: str | None
    created_at: str
    outputs: list[str]
    masked: bool


def recent_edit(record: JobRecord) -> RecentEdit | None:
    if record.prediction_id is None:
        return None
    kept = [item.url for item in record.composite or [] if item.url]
    # A masked job's raw outputs are the edit before its mask: only its composite is what the user saw.
    outputs = kept if record.mask is not None else kept or list(record.outputs)
    return RecentEdit(
        prediction_id=record.prediction_id,
        model=record.model_id,
        variant=short_name(record.model_id),
        created_at=datetime.fromtimestamp(record.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        outputs=outputs,
        masked=record.mask is not None,
    )


def add_recent_tool(viewer: Viewer) -> None:
    async def recent_edits(ctx: Context[Runtime, Any], limit: Limit = 12) -> CallToolResult:
        runtime = ctx.request_context.lifespan_context
        try:
            with anyio.fail_after(LOOKUP_SECONDS):
                records = await runtime.store.journal.recent(limit)
        except StoreUnavailable as exc:
            raise ToolError(f"The job journal cannot be read just now: {exc.message}") from None
        except TimeoutError:
            raise ToolError(f"The {runtime.store.description} did not answer within {LOOKUP_SECONDS:g} s.") from None
        edits = [edit for record in records if (edit := recent_edit(record)) is not None]
        lines = [f"{edit.prediction_id} {edit.variant or edit.model} {edit.created_at}" for edit in edits]
        text = f"{len(edits)} recent edits, newest first." + "".join(f"\n- {line}" for line in lines)
        data: dict[str, Any] = {"edits": [edit.model_dump(mode="json") for edit in edits]}
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)

    viewer.tool(
        resource_uri=VIEWER_URI,
        visibility=["app"],
        name="recent_edits",
        description="For the image viewer app: this deployment's recent edits, from its job journal.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )(recent_edits)
