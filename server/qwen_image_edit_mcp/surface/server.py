"""The composition root: `create_server()` wires settings, the shared HTTP client and the tools into an MCPServer.

The lifespan owns one `httpx.AsyncClient` for every call (built by `wavespeed.http_client` on first use); nothing is
built at import time. `http_transport` and `clock` are the seams tests use: an in-process emulator, a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, GetPromptResult, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError

from .. import __version__
from ..clock import Clock, SystemClock
from ..config import Settings
from ..folders import default_cache_dir
from ..jobs.runtime import Runtime
from ..jobs.schedule import DurationHistory
from ..jobs.spending import open_spending
from ..media.inputs import ImageInputs
from ..media.uploads import Uploader
from ..state.store import Store, opened_store
from ..upstream.catalog import Catalog
from ..wavespeed.client import WaveSpeedClient
from ..wavespeed.http_client import HttpClientOnDemand
from . import texts, tools
from .argument_errors import argument_names, describe_invalid_arguments, refusing_unknown
from .confirm import MALFORMED_ANSWER
from .prompts import add_prompts
from .recent import add_recent_tool
from .schema_titles import without_titles
from .tasks.calls import task_calls
from .tasks.methods import Tasks
from .viewer import Viewer, add_preview_tool, hide_app_only_tools

log = logging.getLogger(__name__)


class EditServer(MCPServer[Runtime]):
    """MCPServer, with the spec's answer to a prompt request it cannot serve: invalid params (-32602), naming the
    unknown prompt or the missing argument (the SDK answers those with error code 0 and logs a traceback), and tool
    arguments that fail the schema (an unknown name among them, which the SDK would drop: `refuse_unknown_arguments`)
    said in a line per argument instead of pydantic's dump."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if _a_malformed_answer(exc):  # the SDK's words for it in the 2026-07-28 era; ours say what it means
                raise ToolError(MALFORMED_ANSWER) from None
            cause = exc.__cause__
            # Only the arguments' own validation: a ValidationError inside the tool (after a submit, say) is a crash.
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            # Chained to the ValidationError, so the SDK still logs only the field names.
            raise ToolError(describe_invalid_arguments(name, cause, self._argument_names(name))) from cause

    def refuse_unknown_arguments(self) -> None:
        """Make every tool registered so far refuse argument names outside its input schema, before it runs.

        The SDK's argument models ignore them: `negative_prompt` (no tool takes it) or a misspelled `promt` would
        vanish and the edit run, and be paid, without it. The published schemas say so too, for hosts that check."""
        for tool in self._tool_manager.list_tools():
            tool.fn_metadata.arg_model = refusing_unknown(tool.fn_metadata.arg_model)
            tool.parameters = without_titles({**tool.parameters, "additionalProperties": False})
            if tool.output_schema is not None:
                tool.output_schema = without_titles(tool.output_schema)

    def _argument_names(self, tool: str) -> list[str]:
        found = self._tool_manager.get_tool(tool)
        return argument_names(found.parameters) if found else []

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Runtime, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        known = {prompt.name: prompt for prompt in await self.list_prompts()}
        if name not in known:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}. Prompts: {', '.join(known)}")
        missing = [
            arg.name for arg in known[name].arguments or [] if arg.required and arg.name not in (arguments or {})
        ]
        if missing:
            raise MCPError(code=INVALID_PARAMS, message=f"Prompt {name} needs the argument(s): {', '.join(missing)}")
        return await super().get_prompt(name, arguments, context)


def _a_malformed_answer(exc: ToolError) -> bool:
    """The SDK refused the client's answer to the spend question as not the question's schema (`go_ahead: "yes"`)."""
    text = str(exc)
    return "Resolver 'qwen_image_edit_mcp.surface.confirm:spend_consent'" in text and "elicitation" in text


def create_server(
    settings: Settings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> EditServer:
    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncGenerator[Runtime]:
        async with HttpClientOnDemand(http_transport) as http:
            client = WaveSpeedClient(
                http, api_key=settings.api_key, base_url=settings.base_url, request_timeout=settings.request_timeout
            )
            time = clock or SystemClock()
            async with _store(settings) as store:
                inputs = ImageInputs(settings.base_url, settings.allowed_dirs, Uploader(client, store.uploads))
                spending = open_spending(settings, client, store, time.now)
                catalog = Catalog(client.list_models, store.texts, key=settings.base_url)
                runtime = Runtime(settings, client, time, inputs, DurationHistory(), store, spending, catalog=catalog)
                async with runtime.background.serving():  # tasks' jobs, followed after their call answered
                    yield runtime

    # edit_image and get_prediction are linked to the viewer (an MCP App); their results are the same either way.
    viewer = Viewer()
    edit_title = "Edit image (Qwen-Image-Edit)"
    viewer.link(
        name="edit_image",
        title=edit_title,
        description=texts.EDIT_DESCRIPTION,
        annotations=ToolAnnotations(
            title=edit_title,
            read_only_hint=False,
            destructive_hint=False,  # makes a new image; the input is never changed
            idempotent_hint=False,  # every call is a new paid job
            open_world_hint=True,
        ),
    )(tools.edit_image)
    get_title = "Get prediction result"
    viewer.link(
        name="get_prediction", title=get_title, description=texts.GET_DESCRIPTION, annotations=read_only(get_title)
    )(tools.get_prediction)
    add_preview_tool(viewer)
    add_recent_tool(viewer)
    server = EditServer(
        "qwen-image-edit-mcp",
        title="Qwen Image Edit (WaveSpeedAI)",
        instructions=texts.INSTRUCTIONS,
        version=__version__,
        website_url="https://wavespeed.ai/models/wavespeed-ai/qwen-image/edit",
        lifespan=lifespan,
        extensions=[viewer, Tasks(noting=viewer.hand_out)],
    )
    server.middleware.append(hide_app_only_tools)
    server.middleware.append(task_calls)
    _add_lookups(server)
    add_prompts(server)
    server.refuse_unknown_arguments()  # last: every tool is registered by now
    return server


def _store(settings: Settings) -> AbstractAsyncContextManager[Store]:
    if settings.store_url_alias:
        log.warning("QWEN_EDIT_LEDGER_URL is deprecated: it now sets the whole store; rename it QWEN_EDIT_STORE_URL")
    url = settings.store_url.get_secret_value() if settings.store_url is not None else None
    return opened_store(url, settings.cache_dir or default_cache_dir())


def _add_lookups(server: MCPServer[Runtime]) -> None:
    """The read-only tools that are not linked to the viewer."""
    list_title = "List recent predictions"
    server.tool(
        name="list_predictions", title=list_title, description=texts.LIST_DESCRIPTION, annotations=read_only(list_title)
    )(tools.list_predictions)
    models_title = "List the models"
    server.tool(
        name="list_models",
        title=models_title,
        description=texts.MODELS_DESCRIPTION,
        annotations=read_only(models_title),
    )(tools.list_models)
    balance_title = "Get balance and spend limit"
    server.tool(
        name="get_balance",
        title=balance_title,
        description=texts.BALANCE_DESCRIPTION,
        annotations=read_only(balance_title),
    )(tools.get_balance)


def read_only(title: str) -> ToolAnnotations:
    """Looks things up at WaveSpeed and changes nothing: safe to call again, free."""
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )
