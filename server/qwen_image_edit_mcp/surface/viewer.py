"""The image viewer as an MCP App: its `ui://` resource, the tools linked to it, and the app-only `preview_image`.

The view (built from `view/` into `view/viewer.html` beside this module) shows before/after, the facts and a
pending job, and edits again, all through its host. It loads nothing from the network: every picture reaches it
through `preview_image`, which answers with an image block sized for the view. So the resource's CSP declares no
domain at all.

`preview_image` is a tool like any other (any client may call it; `visibility=["app"]` only asks hosts to keep
it from the model), so it reads only what this server already handed out: http(s) URLs that appeared in its own
results (outputs, inputs, masks; inputs only once WaveSpeed accepted the job), and files inside the folders it may
read or its output folder (over HTTP, where callers are remote, only the saved files its results named). Results of
the linked tools are not changed: a client without Apps sees what it saw.
Nor does such a client's model see `preview_image` in tools/list: it could do nothing with it, and every listed
tool costs context on every turn (`hide_app_only_tools`, decided per client from what it advertised).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, cast

import anyio
from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolRequestParams, CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from ..jobs.journal import LOOKUP_SECONDS, hand_out
from ..jobs.runtime import Runtime
from ..media.view_sources import PreviewRefused, load_view_preview
from ..state.store import StoreUnavailable

log = logging.getLogger(__name__)

VIEWER_URI: Final = "ui://qwen-image-edit/viewer.html"
LINKED_TOOLS: Final = frozenset({"edit_image", "get_prediction"})
_REMEMBERED: Final = 4096  # URLs kept for preview_image; the oldest go first
_PREVIEW_TITLE: Final = "Preview an image for the viewer"
_PREVIEW_DESCRIPTION: Final = (
    "For the image viewer app: a downscaled preview of an image this server returned or of a file in its folders."
)

Source = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="An http(s) URL from one of this server's results, or a file path / file:// URI in its folders.",
    ),
]
MaxSide = Annotated[int, Field(ge=64, le=1536, description="Longest side of the preview, in pixels (64-1536).")]


class PreviewFacts(BaseModel):
    """What preview_image returns as structuredContent (the pixels travel only in the image block)."""

    width: int = Field(description="The original image's width in pixels.")
    height: int = Field(description="The original image's height in pixels.")
    preview_width: int
    preview_height: int
    mime_type: str


_MISSING_VIEWER: Final = (
    "<!doctype html><meta charset=utf-8><title>Image edit</title>"
    "<p>This copy of qwen-image-edit-mcp was packaged without its viewer; the tool results carry everything.</p>"
)


@cache
def viewer_html() -> str:
    """The built viewer, shipped in the package; read once. A package without it still serves (and says so)."""
    package = resources.files(__package__ or "qwen_image_edit_mcp.surface")
    try:
        return package.joinpath("view/viewer.html").read_text("utf-8")
    except OSError as exc:
        log.warning("the viewer is missing from the package (%s); serving a placeholder page", exc)
        return _MISSING_VIEWER


class ReturnedUrls:
    """The http(s) URLs and saved files this server has handed out, most recent last, bounded."""

    def __init__(self, limit: int = _REMEMBERED) -> None:
        self._urls: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, urls: Iterable[object]) -> None:
        for url in urls:
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                self._remember(url)

    def add_files(self, paths: Iterable[object]) -> None:
        """Saved files, by path and by file:// URI (the viewer may name them either way)."""
        for path in paths:
            if isinstance(path, str) and os.path.isabs(path):
                self._remember(path)
                self._remember(Path(path).as_uri())

    def _remember(self, source: str) -> None:
        self._urls[source] = None
        self._urls.move_to_end(source)
        while len(self._urls) > self._limit:
            self._urls.popitem(last=False)

    def __contains__(self, url: object) -> bool:
        return url in self._urls

    def note_result(
        self, result: CallToolResult, arguments: dict[str, Any] | None
    ) -> list[tuple[str | None, list[str]]] | None:
        """Remember the URLs in a linked tool's report; its inputs too, once a prediction shows WaveSpeed took them.
        Returns what to hand out in the journal: each job's outputs under its id (each variation's under its own),
        the rest under none; None when the result has no job."""
        report = result.structured_content
        if report is None or not report.get("prediction_id"):
            return None
        arguments = arguments or {}
        outputs = _by_job(report)
        urls = [
            *(url for _, urls in outputs for url in urls),
            *_strings(report.get("inputs")),
            report.get("mask"),
            *_strings(report.get("unmasked_outputs")),  # a masked edit's raw result, which preview_image may show
            arguments.get("image"),
            arguments.get("mask"),
            *_strings(arguments.get("images")),
        ]
        self.add(urls)
        self.add_files(_strings(report.get("saved_paths")))
        links = list(dict.fromkeys(url for url in urls if isinstance(url, str) and _http(url)))
        theirs = {url for _, urls in outputs for url in urls}
        groups: list[tuple[str | None, list[str]]] = [(pid, [u for u in urls if _http(u)]) for pid, urls in outputs]
        return [*groups, (None, [url for url in links if url not in theirs])]


def _by_job(report: dict[str, Any]) -> list[tuple[str | None, list[str]]]:
    """Each job's outputs under its id: every variation's, or the one prediction's."""
    rows = [cast(dict[str, Any], row) for row in _strings(report.get("variations")) if isinstance(row, dict)]
    if not rows:
        rows = [report]
    return [
        (str(row["prediction_id"]), [url for url in _strings(row.get("outputs")) if isinstance(url, str)])
        for row in rows
        if row.get("prediction_id")
    ]


def _http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _strings(value: object) -> list[object]:
    return list(cast(list[object], value)) if isinstance(value, list) else []


class Viewer(Apps):
    """The Apps extension with the viewer's resource, which also notes what the linked tools hand out."""

    def __init__(self) -> None:
        super().__init__()
        self.returned = ReturnedUrls()
        self.add_html_resource(
            VIEWER_URI,
            viewer_html(),
            name="image-edit-viewer",
            title="Image edit viewer",
            description="Before/after, facts, progress and edit-again for edit_image and get_prediction results.",
            csp=ResourceCsp(),  # no domains: the view loads nothing from the network
            prefers_border=False,
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> Any:
        result = await call_next(ctx)
        if params.name in LINKED_TOOLS and isinstance(result, CallToolResult):
            await self.hand_out(ctx.lifespan_context, result, params.arguments)
        return result

    async def hand_out(self, runtime: Runtime, result: CallToolResult, arguments: dict[str, Any] | None = None) -> None:
        """Note what a result hands out (a linked tool's, or a task's once it ended), here and for every replica."""
        noted = self.returned.note_result(result, arguments)
        async with anyio.create_task_group() as group:  # for every replica sharing the store, at once:
            for prediction_id, urls in noted or []:  # each bounded, so the whole is too
                group.start_soon(hand_out, runtime, prediction_id, urls)

    def link(self, **tool_kwargs: Any) -> Any:
        """Register a tool whose results the viewer shows (name, title, description, annotations...)."""
        return self.tool(resource_uri=VIEWER_URI, **tool_kwargs)


async def hide_app_only_tools(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: tools/list without the app-only tools for a client that did not advertise MCP Apps.

    It sees the answer as it goes on the wire (a dict), after the SDK shaped it for the client's protocol era."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or not isinstance(result, dict) or client_supports_apps(ctx):
        return result
    tools = cast(list[object], result.get("tools") or [])
    return {**result, "tools": [tool for tool in tools if not _app_only(tool)]}


def _app_only(tool: object) -> bool:
    """Whether a tool, as on the wire, is labelled for the app alone (`_meta.ui.visibility == ["app"]`)."""
    meta = cast(dict[str, Any], tool).get("_meta") if isinstance(tool, dict) else None
    ui = cast(dict[str, Any], meta).get("ui") if isinstance(meta, dict) else None
    return isinstance(ui, dict) and cast(dict[str, Any], ui).get("visibility") == ["app"]


async def _handed_out_elsewhere(runtime: Runtime, source: str) -> bool:
    """Whether another process sharing the store handed out this URL; False when the store cannot say."""
    if not source.startswith(("http://", "https://")):
        return False  # a saved file is another machine's: only the process that saved it shows it
    try:
        with anyio.fail_after(LOOKUP_SECONDS):
            return await runtime.store.journal.handed_out(source)
    except (StoreUnavailable, TimeoutError):
        return False


def add_preview_tool(viewer: Viewer) -> None:
    """Register the app-only `preview_image` on the viewer (after the linked tools, so tools/list keeps its order)."""

    async def preview_image(
        source: Source, ctx: Context[Runtime, Any], max_side: MaxSide = 768
    ) -> Annotated[CallToolResult, PreviewFacts]:
        runtime = ctx.request_context.lifespan_context
        handed_out = source.strip() in viewer.returned or await _handed_out_elsewhere(runtime, source.strip())
        try:
            preview = await load_view_preview(
                runtime.upstream, runtime.settings, source, max_side, handed_out=handed_out
            )
        except PreviewRefused as exc:
            raise ToolError(str(exc)) from None
        facts = PreviewFacts(
            width=preview.original[0],
            height=preview.original[1],
            preview_width=preview.size[0],
            preview_height=preview.size[1],
            mime_type=preview.mime,
        )
        text = f"Preview {facts.preview_width}x{facts.preview_height} of a {facts.width}x{facts.height} image."
        image = ImageContent(type="image", data=preview.base64, mime_type=preview.mime)
        return CallToolResult(
            content=[image, TextContent(type="text", text=text)], structured_content=facts.model_dump(mode="json")
        )

    viewer.tool(
        resource_uri=VIEWER_URI,
        visibility=["app"],
        name="preview_image",
        title=_PREVIEW_TITLE,
        description=_PREVIEW_DESCRIPTION,
        annotations=ToolAnnotations(
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )(preview_image)
