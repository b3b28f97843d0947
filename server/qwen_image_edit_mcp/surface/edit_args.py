"""edit_image's arguments as the use case takes them, built once per call (a resolver the SDK runs before the tool's
body): the body runs the edit with them, and the question about the spend checks them first."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from ..jobs.edit import EditArgs
from ..jobs.runtime import Runtime
from ..models import Lora, OutputFormat
from ..variants import VariantName


def edit_arguments(
    ctx: Context[Runtime, Any],
    prompt: str,
    image: str | None,
    images: list[str] | None,
    model: VariantName,
    loras: list[Lora] | None,
    size: str | None,
    seed: int,
    output_format: OutputFormat | None,
    enable_base64_output: bool,
    enable_sync_mode: bool,
    wait_seconds: float | None,
    mask: str | None,
    feather: int,
) -> EditArgs:
    """Taken by name from the validated arguments; an omitted wait is the server's."""
    settings = ctx.request_context.lifespan_context.settings
    return EditArgs(
        prompt=prompt,
        image=image,
        images=tuple(images) if images is not None else None,
        model=model,
        loras=tuple(loras) if loras is not None else None,
        size=size,
        seed=seed,
        output_format=output_format,
        enable_base64_output=enable_base64_output,
        enable_sync_mode=enable_sync_mode,
        wait_seconds=settings.wait_seconds if wait_seconds is None else wait_seconds,
        mask=mask,
        feather=feather,
    )
