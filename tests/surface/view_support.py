"""A real browser around the viewer: Debian's chromium, the test host page (the library's AppBridge), and a tool
backend in Python that answers the viewer's tool calls.

Nothing is downloaded: the browser is the system one, every network request is refused and recorded, and the
viewer runs in a sandboxed frame under the strict CSP a host derives from a resource that declares no domains.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import pytest
from PIL import Image

if TYPE_CHECKING:
    from mcp import Client
    from playwright.async_api import Browser, FrameLocator, Page, Route

REPO = Path(__file__).resolve().parents[2]
VIEW_SOURCE = REPO / "view"
SHIPPED_VIEWER = REPO / "server" / "qwen_image_edit_mcp" / "surface" / "view" / "viewer.html"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("QWEN_EDIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000

Backend = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason on a developer's machine; in CI a missing tool is a failure, not a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def require_browser() -> None:
    """Skip (or, in CI, fail) up front when playwright or chromium is missing: a skip raised later, inside a task
    group, would arrive wrapped in an exception group and count as an error."""
    try:
        import playwright.async_api  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        unavailable("playwright is not installed (pip install playwright; no browser download is needed)")
    if not CHROMIUM.exists():
        unavailable(f"no chromium at {CHROMIUM} (apt-get install -y --no-install-recommends chromium)")


def build_view(out_dir: Path, *, host: bool) -> tuple[Path, Path | None]:
    """Run the view's build into `out_dir`: the viewer, and the test host page when `host` is true."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        unavailable("node and npm are not installed, so the view cannot be built")
    if not (VIEW_SOURCE / "node_modules" / "esbuild").is_dir():
        unavailable("the view's packages are not installed: run `npm ci` in view/")
    viewer = out_dir / "viewer.html"
    host_page = out_dir / "host.html" if host else None
    command = [node, str(VIEW_SOURCE / "build.mjs"), "--out", str(viewer)]
    if host_page is not None:
        command += ["--host-out", str(host_page)]
    done = subprocess.run(command, cwd=VIEW_SOURCE, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"the view's build failed:\n{done.stdout}\n{done.stderr}"
    return viewer, host_page


def png(size: tuple[int, int], colour: tuple[int, int, int], mark: tuple[int, int, int]) -> bytes:
    """A test picture: a flat colour with a marker square in the upper middle."""
    from PIL import ImageDraw

    image = Image.new("RGB", size, colour)
    w, h = size
    ImageDraw.Draw(image).rectangle((w * 2 // 5, h // 8, w * 3 // 5, h // 3), fill=mark)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def preview_result(data: bytes, max_side: int) -> dict[str, Any]:
    """What preview_image answers: one image block, and the original size as structured data."""
    with Image.open(io.BytesIO(data)) as image:
        original = image.size
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "PNG")
    return {
        "content": [{"type": "image", "data": base64.b64encode(buffer.getvalue()).decode(), "mimeType": "image/png"}],
        "structuredContent": {"width": original[0], "height": original[1]},
        "isError": False,
    }


@dataclass(frozen=True)
class Pixels:
    """A screenshot of the stage, read at fractions of its width and height."""

    image: Image.Image

    def at(self, fx: float, fy: float) -> tuple[int, int, int]:
        w, h = self.image.size
        x, y = min(w - 1, int(w * fx)), min(h - 1, int(h * fy))
        raw = self.image.crop((x, y, x + 1, y + 1)).convert("RGB").tobytes()
        return raw[0], raw[1], raw[2]

    def count(self, colour: tuple[int, int, int], tolerance: int) -> int:
        raw = self.image.convert("RGB").tobytes()
        return sum(1 for i in range(0, len(raw), 3) if all(abs(raw[i + k] - colour[k]) <= tolerance for k in range(3)))


@dataclass
class Host:
    """The host page with the viewer loaded; `view` reaches into the viewer's frame."""

    page: Page
    requests: list[str] = field(default_factory=list[str])
    problems: list[str] = field(default_factory=list[str])

    @property
    def view(self) -> FrameLocator:
        return self.page.frame_locator("iframe")

    async def send_input(self, arguments: dict[str, Any]) -> None:
        await self.page.evaluate("a => window.sendToolInput(a)", arguments)

    async def send_result(self, result: dict[str, Any]) -> None:
        await self.page.evaluate("r => window.sendToolResult(r)", result)

    async def log(self, kind: str) -> list[Any]:
        entries: list[dict[str, Any]] = await self.page.evaluate("() => window.hostLog")
        return [entry["params"] for entry in entries if entry["kind"] == kind]

    async def screenshot(self, name: str) -> bytes:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        data = await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        return data

    async def stage_pixels(self) -> Pixels:
        data = await self.view.locator("#stage").screenshot(animations="disabled")
        return Pixels(Image.open(io.BytesIO(data)).convert("RGB"))

    def assert_clean(self) -> None:
        """Nothing went to the network and the page logged no error (a CSP refusal logs one)."""
        assert self.requests == [], f"the page tried the network: {self.requests}"
        assert self.problems == [], f"the page reported problems: {self.problems}"


@asynccontextmanager
async def open_host(
    browser: Browser,
    host_page: Path,
    viewer_html: str,
    backend: Backend,
    *,
    width: int = 720,
    theme: str = "light",
    capabilities: dict[str, Any] | None = None,
) -> AsyncGenerator[Host]:
    """The host page in `browser`, the viewer connected through the AppBridge, and tool calls sent to `backend`."""
    require_browser()
    # A fresh context per test in the module's one browser: nothing carries over from the test before.
    context = await browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        host = Host(page)

        async def refuse(route: Route) -> None:
            host.requests.append(route.request.url)
            await route.abort()

        await page.route("**/*", refuse)
        page.on("pageerror", lambda error: host.problems.append(f"page error: {error}\n{error.stack}"))
        page.on("console", lambda m: host.problems.append(f"console: {m.text}") if m.type == "error" else None)
        await page.expose_function("hostCallTool", backend)  # pyright: ignore[reportUnknownMemberType]
        await page.set_content(host_page.read_text(encoding="utf-8"))
        options: dict[str, Any] = {"viewerHtml": viewer_html, "hostContext": {"theme": theme}}
        if capabilities is not None:
            options["hostCapabilities"] = capabilities
        with anyio.fail_after(WAIT_MS / 1000):
            await page.evaluate("o => window.startHost(o)", options)
        yield host
    finally:
        await context.close()


@asynccontextmanager
async def launched_browser() -> AsyncGenerator[Browser]:
    """Chromium, launched once for a test module (its tests share one event loop for it)."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class ServerBackend:
    """The host's side of the viewer's tool calls: each goes to the server through the SDK client, as JSON."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[str] = []

    async def __call__(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, dict(arguments)))
        result = await self.client.call_tool(name, arguments)
        if result.is_error:
            self.errors.append(f"{name}: {result.content}")
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    def called(self, tool: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == tool]
