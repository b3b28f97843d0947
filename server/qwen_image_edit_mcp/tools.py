"""The MCP surface: `create_server()` builds an MCPServer with edit_image and get_prediction.

The lifespan owns one `httpx.AsyncClient` for every call; nothing is built at import time. Each tool validates
everything it can before the first request (a refusal costs the user nothing), then hands the waiting to
`waiting.py` and the shaping of the answer to `results.py`. Once WaveSpeed has given a prediction id, every
outcome carries it: completed, failed, still running at the deadline, lost contact, or cancelled (logged).
"""

import logging
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
import httpx
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, EmptyResult, SetLevelRequestParams, TextContent, ToolAnnotations
from pydantic import AfterValidator, Field

from . import __version__
from .client import PredictionPage, WaveSpeedClient
from .clock import Clock, SystemClock
from .config import MAX_WAIT_SECONDS, Settings
from .errors import (
    ConnectionFailedError,
    MissingApiKeyError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    WaveSpeedError,
    failure_of,
)
from .images import ImageInputError, ImageInputs, resolve_image
from .models import (
    MODEL_ID,
    SIZE_DESCRIPTION,
    EditRequest,
    ImageRef,
    OutputFormat,
    Prediction,
    PredictionList,
    PredictionReport,
    PredictionSummary,
    Prompt,
    Seed,
    Size,
)
from .results import build_report, build_result, completed_text, gather_outputs, pending_text
from .schedule import DurationHistory
from .uploads import UploadCache, Uploader, default_cache_dir
from .waiting import read_prediction, submit_once, wait_for_prediction

log = logging.getLogger(__name__)

# A sync-mode request holds the prediction id until WaveSpeed answers; give it room or it cannot help.
MIN_SYNC_WAIT_SECONDS = 10.0
# get_prediction(wait_seconds=0) still rides out a brief outage before giving up.
MIN_READ_RETRY_WINDOW = 10.0
_PREDICTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")

INSTRUCTIONS = """\
Edits images with Qwen-Image-Edit (a 20B model on WaveSpeedAI): appearance edits (add, remove or change an \
element while the rest stays untouched), semantic edits (style transfer, new viewpoint, turning a subject into \
a character) and precise text edits in English or Chinese that keep the original font and style.

How to use the tools:
1. edit_image(image, prompt): `image` is a public http(s) URL, a local file path (absolute or ~, inside the \
folders the server may read; it is uploaded for you), or a data:image/...;base64 URI; `prompt` says what to \
change. Each call starts one paid job (about $0.02); do not repeat a call just to check on it.
2. The call waits for the result (up to wait_seconds) and returns the output URL(s), a preview that fits the \
host (downscaled when the image is large), any saved file, and a structured report. If the job is still \
running when the wait ends, the result says pending=true and gives a prediction_id: then call \
get_prediction(prediction_id, wait_seconds) until it completes. Never start a new edit_image for the same \
request: that pays for a second job.
3. To refine a result, call edit_image again with the output URL as `image`. Output URLs stay valid for 7 days.
4. If a call fails, its message says what to fix (the size, a URL WaveSpeed cannot reach, the API key).
5. If an edit was started but its prediction_id was lost (the call was cancelled or timed out before answering),
list_predictions shows the recent jobs with their ids; resume one with get_prediction instead of editing again.
"""

EDIT_DESCRIPTION = """\
Edit an image with Qwen-Image-Edit on WaveSpeedAI, following a natural-language instruction in English or \
Chinese. Good at: adding, removing or replacing objects; changing colours, materials, backgrounds or style; \
rewriting text inside the image (quote the exact new text); rotating a subject or changing the viewpoint.

Returns the edited image's URL, an inline preview when it fits, and a structured report. Costs one paid job \
per call. If the job outlives wait_seconds, the result is pending with a prediction_id: call get_prediction \
with it instead of calling edit_image again."""

GET_DESCRIPTION = """\
Look up a WaveSpeed prediction by id: its status and, once completed, its output URL(s) and a preview. Use it to \
resume an edit_image call that returned pending=true, optionally waiting up to wait_seconds for it to finish. \
Read-only and free; predictions are kept by WaveSpeed for 7 days."""


LIST_DESCRIPTION = """\
List this account's recent Qwen-Image-Edit predictions on WaveSpeed (newest first; WaveSpeed keeps 7 days), with \
their ids, statuses and output URLs. Use it to find a job whose prediction_id was lost (a cancelled or timed-out \
call), then resume it with get_prediction. Read-only and free."""


def _prediction_id(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("prediction_id is empty; pass the prediction_id that edit_image returned")
    if "://" in value or "/" in value or ".." in value:
        raise ValueError(
            "prediction_id must be the bare id (letters, digits, '-' or '_'), not a URL or path; "
            "e.g. 'e6832d4abffb4d79bfbca19783fca133'"
        )
    if len(value) > 128:
        raise ValueError(f"prediction_id is {len(value)} characters long; WaveSpeed ids are at most 128 (usually 32)")
    if not _PREDICTION_ID.match(value):
        raise ValueError("prediction_id may contain only letters, digits, '-' and '_'")
    return value


PredictionId = Annotated[
    str,
    AfterValidator(_prediction_id),
    Field(
        description="The prediction_id returned by edit_image (32 hex characters).",
        json_schema_extra={"pattern": _PREDICTION_ID.pattern, "minLength": 1, "maxLength": 128},
    ),
]


def _read_only(title: str) -> ToolAnnotations:
    """Looks things up at WaveSpeed and changes nothing: safe to call again, free."""
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )


@dataclass(frozen=True)
class Runtime:
    """What every call shares, built once by the lifespan."""

    settings: Settings
    wavespeed: WaveSpeedClient
    clock: Clock
    inputs: ImageInputs
    durations: DurationHistory  # when recent edits finished, which the poll schedule learns from


class _Progress:
    """Progress notifications: elapsed seconds as the (strictly increasing) value, what is happening as the text."""

    def __init__(self, ctx: Context[Runtime, Any], clock: Clock, started: float) -> None:
        self._ctx, self._clock, self._started, self._last = ctx, clock, started, 0.0

    async def __call__(self, message: str) -> None:
        value = max(round(self._clock.now() - self._started, 2), round(self._last + 0.01, 2))
        self._last = value
        try:
            await self._ctx.report_progress(value, None, message)
        except Exception:  # a client that went away must not break the edit it paid for
            log.debug("progress notification not delivered", exc_info=True)


def create_server(
    settings: Settings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> MCPServer[Runtime]:
    """Build the server. `http_transport` and `clock` are seams for tests (an in-process emulator, a fake clock)."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncGenerator[Runtime]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            transport=http_transport, limits=limits, headers={"User-Agent": f"qwen-image-edit-mcp/{__version__}"}
        ) as http:
            client = WaveSpeedClient(
                http, api_key=settings.api_key, base_url=settings.base_url, request_timeout=settings.request_timeout
            )
            cache = UploadCache((settings.cache_dir or default_cache_dir()) / "uploads.json")
            inputs = ImageInputs(settings.base_url, settings.allowed_dirs, Uploader(client, cache))
            yield Runtime(
                settings=settings,
                wavespeed=client,
                clock=clock or SystemClock(),
                inputs=inputs,
                durations=DurationHistory(),
            )

    server: MCPServer[Runtime] = MCPServer(
        "qwen-image-edit-mcp",
        title="Qwen Image Edit (WaveSpeedAI)",
        instructions=INSTRUCTIONS,
        version=__version__,
        website_url="https://wavespeed.ai/models/wavespeed-ai/qwen-image/edit",
        lifespan=lifespan,
    )

    @server.tool(
        name="edit_image",
        title="Edit image (Qwen-Image-Edit)",
        description=EDIT_DESCRIPTION,
        annotations=ToolAnnotations(
            title="Edit image (Qwen-Image-Edit)",
            read_only_hint=False,
            destructive_hint=False,  # makes a new image; the input is never changed
            idempotent_hint=False,  # every call is a new paid job
            open_world_hint=True,
        ),
    )
    async def edit_image(  # pyright: ignore[reportUnusedFunction]
        prompt: Prompt,
        image: ImageRef,
        ctx: Context[Runtime, Any],
        size: Annotated[Size | None, Field(description=SIZE_DESCRIPTION)] = None,
        seed: Seed = -1,
        output_format: Annotated[
            OutputFormat, Field(description="Output file format: jpeg (default, smallest), png (lossless) or webp.")
        ] = "jpeg",
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
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=MAX_WAIT_SECONDS,
                description=(
                    f"How long this call may wait for the result, in seconds (default {settings.wait_seconds:g}). "
                    "If the job is still running then, the call returns pending=true with the prediction_id; "
                    "0 returns right after submitting."
                ),
            ),
        ] = settings.wait_seconds,
    ) -> Annotated[CallToolResult, PredictionReport]:
        runtime = ctx.request_context.lifespan_context
        clock = runtime.clock
        started = clock.now()
        if not runtime.wavespeed.has_api_key:
            raise ToolError(MissingApiKeyError().message)
        if enable_sync_mode and wait_seconds < MIN_SYNC_WAIT_SECONDS:
            raise ToolError(
                f"enable_sync_mode holds the request open until the image is ready, so it needs wait_seconds of at "
                f"least {MIN_SYNC_WAIT_SECONDS:g} (got {wait_seconds:g}). Raise wait_seconds or leave sync mode off."
            )
        progress = _Progress(ctx, clock, started)
        try:
            resolved = await resolve_image(image, runtime.inputs)
        except ImageInputError as exc:
            raise ToolError(str(exc)) from None
        if resolved.note:
            log.info("edit_image input: %s", resolved.note)
            await progress(f"image ready: {resolved.note}")
        request = EditRequest(
            prompt=prompt,
            image=resolved.value,
            size=size,
            seed=seed,
            output_format=output_format,
            enable_base64_output=enable_base64_output,
            enable_sync_mode=enable_sync_mode,
        )
        await progress("submitting the edit to WaveSpeed" + (" (sync mode)" if enable_sync_mode else ""))
        deadline = started + wait_seconds
        try:
            prediction = await submit_once(runtime.wavespeed, request, clock=clock, deadline=deadline)
        except WaveSpeedError as exc:
            raise ToolError(_submit_failure(exc, sync=enable_sync_mode, wait_seconds=wait_seconds)) from None
        except anyio.get_cancelled_exc_class():
            # An async submit is shielded (see submit_once), so this is a sync-mode request or a retry's backoff.
            log.info(
                "edit_image cancelled before WaveSpeed answered the submit%s",
                "; a sync-mode job may exist: see list_predictions" if enable_sync_mode else " (nothing was created)",
            )
            raise
        log.info("edit_image submitted prediction %s (status %s)", prediction.id, prediction.status)
        return await _follow(
            runtime,
            prediction,
            progress,
            started=started,
            deadline=deadline,
            polls=0,
            history=runtime.durations,
            announce=f"submitted: prediction {prediction.id} is {prediction.status}",
        )

    @server.tool(
        name="get_prediction",
        title="Get prediction result",
        description=GET_DESCRIPTION,
        annotations=_read_only("Get prediction result"),
    )
    async def get_prediction(  # pyright: ignore[reportUnusedFunction]
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
        runtime = ctx.request_context.lifespan_context
        clock = runtime.clock
        started = clock.now()
        if not runtime.wavespeed.has_api_key:
            raise ToolError(MissingApiKeyError().message)
        progress = _Progress(ctx, clock, started)
        try:
            prediction = await read_prediction(
                runtime.wavespeed,
                prediction_id,
                clock=clock,
                retry_until=started + max(wait_seconds, MIN_READ_RETRY_WINDOW),
            )
        except WaveSpeedError as exc:
            raise ToolError(f"Could not read prediction {prediction_id}: {exc.message}") from None
        return await _follow(
            runtime,
            prediction,
            progress,
            started=started,
            deadline=started + wait_seconds,
            polls=1,
            announce=f"prediction {prediction.id} is {prediction.status}",
        )

    @server.tool(
        name="list_predictions",
        title="List recent predictions",
        description=LIST_DESCRIPTION,
        annotations=_read_only("List recent predictions"),
    )
    async def list_predictions(  # pyright: ignore[reportUnusedFunction]
        ctx: Context[Runtime, Any],
        status: Annotated[
            Literal["completed", "failed", "processing"] | None,
            Field(description="Only predictions in this status: completed, failed or processing. Omit for all."),
        ] = None,
        since_hours: Annotated[
            float, Field(gt=0, le=168, description="How far back to look, in hours (default 24, at most 168 = 7 days).")
        ] = 24,
        page: Annotated[int, Field(ge=1, le=1000, description="Page number, from 1.")] = 1,
        page_size: Annotated[int, Field(ge=1, le=100, description="Predictions per page, 1-100 (default 20).")] = 20,
    ) -> Annotated[CallToolResult, PredictionList]:
        runtime = ctx.request_context.lifespan_context
        if not runtime.wavespeed.has_api_key:
            raise ToolError(MissingApiKeyError().message)
        since = datetime.now(UTC) - timedelta(hours=since_hours)
        try:
            listing = await runtime.wavespeed.list_predictions(
                page=page,
                page_size=page_size,
                model=MODEL_ID,
                status=status,
                created_after=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        except WaveSpeedError as exc:
            raise ToolError(f"Could not list recent predictions: {exc.message}") from None
        return _listing_result(listing, since_hours=since_hours, page_size=page_size)

    _acknowledge_logging_level(server)
    return server


def _listing_result(listing: PredictionPage, *, since_hours: float, page_size: int) -> CallToolResult:
    summaries = [
        PredictionSummary(
            prediction_id=item.id,
            status=item.status,
            created_at=item.created_at,
            outputs=[o for o in item.outputs if o.startswith(("http://", "https://"))],
            error=(item.error or None) if item.status != "completed" else None,
        )
        for item in listing.items
    ]
    more = listing.page * page_size < listing.total
    next_step = (
        'To see one in full, or wait for one still running, call get_prediction(prediction_id="...", '
        "wait_seconds=50)." + (f" More on page {listing.page + 1}." if more else "")
    )
    report = PredictionList(predictions=summaries, page=listing.page, total=listing.total, next_step=next_step)
    lines = [
        f"Recent edits (last {since_hours:g} h, newest first): {len(summaries)} shown of {listing.total}, "
        f"page {listing.page}."
    ]
    for summary in summaries:
        detail = summary.outputs[0] if summary.outputs else (summary.error or "")
        lines.append(f"- {summary.prediction_id}  {summary.status}  {summary.created_at or ''}  {detail}".rstrip())
    if not summaries:
        lines.append("No predictions match.")
    lines.append(next_step)
    return CallToolResult(
        content=[
            TextContent(type="text", text="\n".join(lines)),
            TextContent(type="text", text=report.model_dump_json()),
        ],
        structured_content=report.model_dump(mode="json"),
    )


def _acknowledge_logging_level(server: MCPServer[Runtime]) -> None:
    """Older clients send logging/setLevel, and MCPServer has no public hook for it. This is the workaround in the
    SDK's migration guide. This server logs to stderr, not to clients, so the request is acknowledged and changes
    nothing."""

    async def set_level(ctx: ServerRequestContext[Runtime], params: SetLevelRequestParams) -> EmptyResult:
        return EmptyResult()

    server._lowlevel_server.add_request_handler(  # pyright: ignore[reportPrivateUsage]
        "logging/setLevel", SetLevelRequestParams, set_level
    )


async def _follow(
    runtime: Runtime,
    prediction: Prediction,
    progress: _Progress,
    *,
    started: float,
    deadline: float,
    polls: int,
    history: DurationHistory | None = None,
    announce: str | None = None,
) -> CallToolResult:
    """Wait for a known prediction and shape the answer. Whatever happens from here, the id reaches the caller
    (or, if the caller cancels, the log)."""
    clock, settings = runtime.clock, runtime.settings
    try:
        if announce is not None:
            await progress(announce)
        outcome = await wait_for_prediction(
            runtime.wavespeed,
            prediction,
            clock=clock,
            deadline=deadline,
            started=started,
            on_progress=progress,
            history=history,
        )
        current = outcome.prediction
        polls += outcome.polls
        if outcome.pending:
            resume = settings.wait_seconds or 50
            report = build_report(
                current,
                [],
                elapsed=clock.now() - started,
                polls=polls,
                next_step=(
                    f'Nothing is lost: call get_prediction(prediction_id="{current.id}", wait_seconds={resume:g}) to '
                    "wait for the result. Do not call edit_image again for this edit: that would start and bill a "
                    "second job."
                ),
            )
            text = pending_text(report, waited=deadline - started, interruption=outcome.interruption)
            log.info("prediction %s still %s when the wait ended", current.id, current.status)
            return build_result(report, [], text, is_error=outcome.interruption is not None)
        if (failure := failure_of(current)) is not None:
            report = build_report(current, [], elapsed=clock.now() - started, polls=polls, next_step=None)
            log.info("prediction %s ended %s (code %s)", current.id, current.status, failure.code)
            return build_result(report, [], failure.message, is_error=True)
        await progress(f"prediction {current.id} completed; preparing the result")
        outputs = await gather_outputs(
            runtime.wavespeed, current, inline_max_bytes=settings.inline_max_bytes, output_dir=settings.output_dir
        )
        report = build_report(
            current,
            outputs,
            elapsed=clock.now() - started,
            polls=polls,
            next_step="Show the user the edited image. To refine it, call edit_image with an output URL as image.",
        )
        log.info("prediction %s completed in %.2f s after %d polls", current.id, report.elapsed_seconds, polls)
        return build_result(report, outputs, completed_text(report, outputs))
    except anyio.get_cancelled_exc_class():
        # The client gave up; the job goes on at WaveSpeed and is already paid for. Leave its id where a person
        # (or a later session) can find it.
        log.info("call cancelled while following prediction %s; resume it with get_prediction", prediction.id)
        raise


def _submit_failure(exc: WaveSpeedError, *, sync: bool, wait_seconds: float) -> str:
    """Why the edit could not be submitted, and whether a job might exist anyway."""
    unknown = (
        " This server does not resend a request whose outcome is unknown, so that you are never billed twice: "
        "call list_predictions (or check the WaveSpeed dashboard) to find the job and resume it with "
        "get_prediction before trying again."
    )
    if sync and isinstance(exc, ConnectionFailedError | ServerError | UnexpectedResponseError):
        return (
            f"The sync-mode request got no answer with a prediction id within {wait_seconds:g} s ({exc.message}). "
            "The job may still have been created and may complete."
            + unknown
            + " Async mode (enable_sync_mode=false, the default) always returns an id that get_prediction can resume."
        )
    if isinstance(exc, ConnectionFailedError) and exc.request_sent:
        return f"The edit request was sent but no answer came back: {exc.message} It may have created a job." + unknown
    if isinstance(exc, ServerError | UnexpectedResponseError):
        return f"{exc.message} The job may or may not have been created." + unknown
    if isinstance(exc, RateLimitError):
        return f"{exc.message} No job was created (retried a few times)."
    return exc.message + " No job was created."
