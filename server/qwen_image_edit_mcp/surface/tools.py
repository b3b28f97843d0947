"""The tool handlers: arguments in (validated by their annotated types), a use case, an outcome rendered out.

Each handler is a screenful: everything with a decision in it lives in `jobs/` (what to do) and `rendering.py`
(what to say). `server.py` registers these with their texts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import Field

from ..config import MAX_WAIT_SECONDS
from ..jobs.balance import run_balance
from ..jobs.listing import ListArgs, run_list
from ..jobs.models_list import run_list_models
from ..jobs.prepare import MIN_SYNC_WAIT_SECONDS
from ..jobs.read import run_read
from ..jobs.runtime import ANSWER_MARGIN, Runtime
from ..jobs.start import start, start_all
from ..jobs.variations import MAX_VARIATIONS
from ..media.masks import DEFAULT_FEATHER, MAX_FEATHER
from ..models import (
    IMAGE_DESCRIPTION,
    SIZE_DESCRIPTION,
    ImageRef,
    Lora,
    OutputFormat,
    PredictionId,
    Prompt,
    Seed,
    Size,
)
from ..reports import BalanceReport, EditReport, ModelList, PredictionList, PredictionReport
from ..upstream.catalog import MAX_NAME_LENGTH
from ..upstream.spec import MAX_ANY_IMAGES
from .confirm import ANSWERED_ALREADY, MALFORMED_ANSWER, SpendApproval, not_submitted, spend_consent, verdict_of
from .edit_args import Preparation, prepared_edit
from .guard import guarded
from .progress import Progress
from .rendering import render, render_balance, render_listing, render_models
from .tasks.asked import task_asked
from .tasks.launch import run_as_task, runs_as_task
from .texts import (
    FEATHER_DESCRIPTION,
    IMAGES_DESCRIPTION,
    LORAS_DESCRIPTION,
    MASK_DESCRIPTION,
    MODEL_DESCRIPTION,
    OPTIONS_DESCRIPTION,
    VARIATIONS_DESCRIPTION,
)
from .variations import render_variations

# The bounds are in the schema for hosts and models to read; the checks (and their messages) are the use case's.
ImageList = Annotated[list[ImageRef], Field(min_length=1, json_schema_extra={"maxItems": MAX_ANY_IMAGES})]
LoraList = Annotated[list[Lora], Field(json_schema_extra={"maxItems": 8})]  # each model's own limit is checked
ModelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
WaitSeconds = Annotated[
    float | None,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=(
            "Seconds this call may wait for the result (default 50, or the server's setting); a job still running "
            "then returns pending=true with its prediction_id. 0 returns right after submitting."
        ),
    ),
]


async def edit_image(
    prompt: Prompt,
    ctx: Context[Runtime, Any],
    preparation: Annotated[Preparation, Resolve(prepared_edit)],  # the arguments below, every free check made
    approval: Annotated[ElicitationResult[SpendApproval], Resolve(spend_consent)],  # not in the schema
    image: Annotated[ImageRef | None, Field(description=IMAGE_DESCRIPTION)] = None,
    images: Annotated[ImageList | None, Field(description=IMAGES_DESCRIPTION)] = None,
    model: Annotated[ModelName, Field(description=MODEL_DESCRIPTION)] = "edit",
    loras: Annotated[LoraList | None, Field(description=LORAS_DESCRIPTION)] = None,
    size: Annotated[Size | None, Field(description=SIZE_DESCRIPTION)] = None,
    seed: Seed = -1,
    output_format: Annotated[
        OutputFormat | None,
        Field(description="Output file format: jpeg (default; png with a mask), png (lossless) or webp."),
    ] = None,
    enable_base64_output: Annotated[
        bool,
        Field(
            description="Return the image bytes instead of a URL (no hosted copy; the server saves the file "
            "locally). Leave false unless a URL cannot be used."
        ),
    ] = False,
    enable_sync_mode: Annotated[
        bool,
        Field(
            description="Ask WaveSpeed to hold the request open until the image is ready (one request instead "
            f"of polling). Needs wait_seconds of at least {MIN_SYNC_WAIT_SECONDS:g}."
        ),
    ] = False,
    wait_seconds: WaitSeconds = None,
    mask: Annotated[ImageRef | None, Field(description=MASK_DESCRIPTION)] = None,
    feather: Annotated[int, Field(ge=0, le=MAX_FEATHER, description=FEATHER_DESCRIPTION)] = DEFAULT_FEATHER,
    options: Annotated[dict[str, Any] | None, Field(description=OPTIONS_DESCRIPTION)] = None,
    variations: Annotated[int, Field(ge=1, le=MAX_VARIATIONS, description=VARIATIONS_DESCRIPTION)] = 1,
) -> Annotated[CallToolResult, EditReport]:
    # The parameters after `approval` are the tool's schema; `preparation` holds them all, checked once by
    # `prepared_edit` for this body and for the question about the spend: nothing here checks or fetches again.
    async with guarded(ctx, "edit the image") as runtime:
        late = preparation.late
        if late is not None:
            return not_submitted(
                verdict_of(approval), model_id=late.model, price_usd=late.price_usd, waited=late.seconds
            )
        edit = preparation.ready()  # a refusal is raised here, in its own words
        asked = preparation.asked
        if asked is not None and not runtime.questions.claim(asked.ref):
            raise ToolError(ANSWERED_ALREADY)  # an answer sent again (a retry, a "no" resent as "yes") pays nothing
        verdict = verdict_of(approval)
        if verdict.why == "malformed":
            raise ToolError(MALFORMED_ANSWER)
        if not verdict.go:
            waited = edit.args.wait_seconds + ANSWER_MARGIN
            return not_submitted(verdict, model_id=edit.model.model_id, price_usd=edit.price_usd, waited=waited)
        progress = Progress(ctx, runtime.clock)
        if (ask := task_asked.get()) is not None and runs_as_task(runtime, edit):
            return await run_as_task(runtime, edit, ask, progress)
        if edit.variations == 1:
            return render(await start(runtime, edit, progress), resume_wait=runtime.resume_wait)
        runs = await start_all(runtime, edit, progress)
        return render_variations(runs, model_id=edit.model.model_id, resume_wait=runtime.resume_wait)


async def get_prediction(
    prediction_id: PredictionId,
    ctx: Context[Runtime, Any],
    wait_seconds: Annotated[
        float,
        Field(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="How long to wait for the job to finish, in seconds; 0 (default) just looks once.",
        ),
    ] = 0,
) -> Annotated[CallToolResult, PredictionReport]:
    async with guarded(ctx, f"read prediction {prediction_id}") as runtime:
        outcome = await run_read(runtime, prediction_id, wait_seconds, Progress(ctx, runtime.clock))
        return render(outcome, resume_wait=runtime.resume_wait)


async def list_predictions(
    ctx: Context[Runtime, Any],
    status: Annotated[
        Literal["completed", "failed", "processing"] | None,
        Field(description="Only predictions in this status: completed, failed or processing. Omit for all."),
    ] = None,
    model: Annotated[
        ModelName | None,
        Field(description="Only this model: a short name (e.g. edit-plus) or a model id. Omit for all of them."),
    ] = None,
    since_hours: Annotated[
        float, Field(gt=0, le=168, description="How far back to look, in hours (default 24, at most 168 = 7 days).")
    ] = 24,
    page: Annotated[int, Field(ge=1, le=1000, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Field(ge=1, le=100, description="Predictions per page, 1-100 (default 20).")] = 20,
) -> Annotated[CallToolResult, PredictionList]:
    async with guarded(ctx, "list recent predictions") as runtime:
        listing = await run_list(
            runtime, ListArgs(status=status, model=model, since_hours=since_hours, page=page, page_size=page_size)
        )
        return render_listing(listing, since_hours=since_hours)


async def get_balance(ctx: Context[Runtime, Any]) -> Annotated[CallToolResult, BalanceReport]:
    async with guarded(ctx, "read the balance") as runtime:
        return render_balance(await run_balance(runtime))


async def list_models(ctx: Context[Runtime, Any]) -> Annotated[CallToolResult, ModelList]:
    async with guarded(ctx, "list the models") as runtime:
        return render_models(await run_list_models(runtime))
