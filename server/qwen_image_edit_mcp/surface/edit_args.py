"""edit_image's arguments as the use case takes them, and the edit prepared from them: resolvers the SDK runs once
per call (per round, in the 2026-07-28 era) before the tool's body. The question about the spend and the body both
take the one `Preparation`, so what the user is asked about is exactly what runs, and nothing is checked twice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve

from ..errors import InputError, MissingApiKeyError, WaveSpeedError
from ..jobs.asked import Asked, question_key
from ..jobs.prepare import EditArgs, PreparedEdit, prepare_edit
from ..jobs.runtime import Runtime
from ..models import Lora, OutputFormat


def edit_arguments(
    ctx: Context[Runtime, Any],
    prompt: str,
    image: str | None,
    images: list[str] | None,
    model: str,
    loras: list[Lora] | None,
    size: str | None,
    seed: int,
    output_format: OutputFormat | None,
    enable_base64_output: bool,
    enable_sync_mode: bool,
    wait_seconds: float | None,
    mask: str | None,
    feather: int,
    options: dict[str, Any] | None,
    variations: int,
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
        options=options or {},
        variations=variations,
    )


def answering_round(ctx: Context[Runtime, Any]) -> bool:
    """A later round of a call that asked its client something (2026-07-28): it carries the answers, or the state."""
    return bool(ctx.input_responses) or bool(ctx.request_state)


@dataclass(frozen=True)
class Preparation:
    """The prepared edit, or why it is refused: a refusal is a value here, raised by the tool's body (where every
    error becomes the tool error it should be), and never mistaken for consent by the question."""

    edit: PreparedEdit | None
    refusal: Exception | None = None
    asked: Asked | None = None  # a later round's question, asked again word for word (jobs/asked.py)
    late: Asked | None = None  # a later round that came after its question's time ran out: nothing may run

    def ready(self) -> PreparedEdit:
        if self.edit is None:
            raise self.refusal or InputError("the edit could not be prepared")
        return self.edit


async def prepared_edit(ctx: Context[Runtime, Any], args: Annotated[EditArgs, Resolve(edit_arguments)]) -> Preparation:
    """Every free check, once (jobs/prepare.py). A later round of a call whose question is out reuses the first
    round's preparation (nothing is fetched again) and its question (jobs/asked.py)."""
    runtime = ctx.request_context.lifespan_context
    if not runtime.upstream.has_api_key:
        return Preparation(None, MissingApiKeyError())  # nothing to check for an edit that cannot be sent
    now = runtime.clock.now()
    asked = runtime.questions.latest(question_key(args), now) if answering_round(ctx) else None
    if asked is not None and asked.late(now):
        return Preparation(None, late=asked)
    if asked is not None and asked.edit is not None:
        return Preparation(asked.edit, asked=asked)
    try:
        edit = await prepare_edit(runtime, args)
    except (InputError, WaveSpeedError) as exc:
        return Preparation(None, exc)
    # A question whose edit was let go is asked again word for word only about the same price; else a new one is.
    # Its words name the variations' seeds (random ones were drawn for it): the edit runs those.
    if asked is None or asked.price_usd != edit.price_usd or len(asked.seeds) != edit.variations:
        return Preparation(edit)
    return Preparation(replace(edit, seeds=asked.seeds), asked=asked)
