"""Test doubles shared by every test module: a clock moved by hand, and a key distinctive enough to scan for."""

from __future__ import annotations

from typing import Any

import anyio.lowlevel
from mcp.client.extension import ClientExtension

API_KEY = "sk-test-9f8e7d6c5b4a39281706"  # distinctive, so a leak scan cannot miss it
# What tools/list shows a client without MCP Apps, and one that renders them (which also gets the app-only tool).
MODEL_TOOLS = frozenset({"edit_image", "get_prediction", "list_predictions", "get_balance", "list_models"})
APP_TOOLS = MODEL_TOOLS | {"preview_image", "recent_edits"}


class AppsSupport(ClientExtension):
    """What a host that renders MCP Apps advertises."""

    identifier = "io.modelcontextprotocol/ui"

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": ["text/html;profile=mcp-app"]}


class FakeClock:
    """A Clock whose sleep advances time instantly: a '3 s' job finishes without anyone waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


class SecretScan:
    """Everything the suite sees come back from the server: results, errors, logs, subprocess stderr."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.results = 0

    def add(self, text: str) -> None:
        self.texts.append(text)

    def leaks(self, secrets: tuple[str, ...]) -> list[str]:
        return [secret for secret in secrets if any(secret in text for text in self.texts)]


SCAN = SecretScan()


CATALOG_PATH = "/api/v3/models"


def beyond_the_catalog(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests in an emulator's log other than reading the model catalog (free, and made by any edit that checks
    its model): what a refused edit must not have sent."""
    return [entry for entry in log if entry.get("path") != CATALOG_PATH]
