"""An in-process world for tool tests: the emulator behind an ASGI transport and the server, on one fake clock."""

from __future__ import annotations

import base64
import io
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from mcp.server import MCPServer
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app
from qwen_image_edit_mcp.jobs.runtime import Runtime
from qwen_image_edit_mcp.state.ledger import SpendLedger
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME, open_store
from qwen_image_edit_mcp.surface.server import create_server
from qwen_image_edit_mcp.upstream.curated import BUILT_IN

EMULATOR_URL = "http://emulator.test"
SUBMIT_PATH = "/api/v3/wavespeed-ai/qwen-image/edit"
# POSTs under /api/v3/ that are not submits; every other POST there runs a model.
NOT_SUBMITS = ("/api/v3/predictions", "/api/v3/model/", "/api/v3/media/")
ONE_LORA: list[dict[str, Any]] = [{"path": "owner/warm-light"}]


@dataclass
class World:
    server: MCPServer[Runtime]
    emulator: EmulatorState
    clock: FakeClock

    def requests(self, method: str | None = None, suffix: str = "") -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.emulator.request_log()
            if (method is None or entry["method"] == method) and entry["path"].endswith(suffix)
        ]

    def submits(self) -> list[dict[str, Any]]:
        """Every submit, to any model."""
        return [
            entry
            for entry in self.requests("POST")
            if entry["path"].startswith("/api/v3/") and not entry["path"].startswith(NOT_SUBMITS)
        ]

    def polls(self) -> list[dict[str, Any]]:
        return self.requests("GET", "/result")


def make_world(
    clock: FakeClock,
    tmp_path: Path,
    *,
    api_key: str | None = API_KEY,
    latency: float = 3.0,
    sync_timeout: float = 90.0,
    wait_seconds: float = 50.0,
    inline_max_bytes: int = 700_000,
    keep_outputs: bool = True,
    emulator: EmulatorState | None = None,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    **settings_extra: Any,
) -> World:
    """A server and an emulator; pass `emulator` to start a second server (a restart) against the same one."""
    config = EmulatorConfig(api_key=API_KEY, latency=latency, sync_timeout=sync_timeout, public_base_url=EMULATOR_URL)
    emulator = emulator or EmulatorState(config, clock=clock)
    settings = Settings(
        api_key=SecretStr(api_key) if api_key else None,
        base_url=EMULATOR_URL,
        wait_seconds=wait_seconds,
        inline_max_bytes=inline_max_bytes,
        output_dir=tmp_path / "outputs" if keep_outputs else None,
        allowed_dirs=(pictures_dir(tmp_path),),
        cache_dir=tmp_path / "cache",
        **settings_extra,  # e.g. max_spend_usd, confirm_spend
    )
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=create_emulator_app(emulator))
    if wrap is not None:  # a test's saboteur between the server and the emulator
        transport = wrap(transport)
    return World(create_server(settings, http_transport=transport, clock=clock), emulator, clock)


def pictures_dir(tmp_path: Path) -> Path:
    """The folder local images may be read from in tests."""
    folder = (tmp_path / "Pictures").resolve()
    folder.mkdir(exist_ok=True)
    return folder


def result_size(result: CallToolResult) -> int:
    """Bytes of the result as it travels in a JSON-RPC response."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def images_of(result: CallToolResult) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(base64.b64decode(block.data)))
        for block in result.content
        if isinstance(block, ImageContent)
    ]


def links_of(result: CallToolResult) -> list[ResourceLink]:
    return [block for block in result.content if isinstance(block, ResourceLink)]


def png_data_uri(size: tuple[int, int] = (64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def family_arguments(
    model: str, images: Sequence[str], *, loras: list[dict[str, Any]] | None = None, **more: Any
) -> dict[str, Any]:
    """edit_image's arguments for one model of the family, as its row in BUILT_IN takes them: `image` (the first of
    `images`) for a single-image model, `images` for a multi-image one, and `loras` (one unless given) for a -lora
    model. `more` adds the prompt and any other argument."""
    variant = BUILT_IN[model]
    arguments: dict[str, Any] = {"model": model, **more}
    if variant.max_images > 1:
        arguments["images"] = list(images)
    else:
        arguments["image"] = images[0]
    if variant.loras:
        arguments["loras"] = ONE_LORA if loras is None else loras
    return arguments


def ledger_in(cache_dir: Path, limit: str | Decimal) -> SpendLedger:
    """The spend ledger a server with this cache folder uses (its embedded store), as another process would open it."""
    return open_store(None, cache_dir).ledger(Decimal(limit))


def uploads_remembered(cache_dir: Path) -> str:
    """Every upload the embedded store in `cache_dir` remembers, as 'key url' lines ('' when there is no store)."""
    database = cache_dir / STORE_FILE_NAME
    if not database.is_file():
        return ""
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as connection:
        return "\n".join(f"{key} {url}" for key, url in connection.execute("SELECT key, url FROM uploads"))
