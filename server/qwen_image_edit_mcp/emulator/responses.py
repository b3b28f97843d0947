"""What every route of the emulator shares: WaveSpeed's JSON envelope and error shapes, the gateway page, request
helpers, a connection that drops mid-answer, the header that marks every response, and the base of a route group.

WaveSpeed answers JSON in an envelope `{"code", "message", "data"}`; errors carry `code` and `message` only.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..addresses import is_loopback_host
from .state import EmulatorState

UNAUTHORIZED = "Unauthorized: invalid or missing API key. Send 'Authorization: Bearer <WAVESPEED_API_KEY>'."
GATEWAY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
# A body that did not parse as JSON (as opposed to one that parsed to `null`).
NOT_JSON = object()


class EmulatorHeader:
    """ASGI middleware stamping every response `X-WaveSpeed-Emulator: 1`, so it can never pass for the real API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-WaveSpeed-Emulator", "1")
            await send(message)

        await self.app(scope, receive, stamped)


def envelope(data: Any) -> JSONResponse:
    return JSONResponse({"code": 200, "message": "success", "data": data})


def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


def gateway_page(status: int, reason: str) -> HTMLResponse:
    return HTMLResponse(GATEWAY_PAGE.format(status=status, reason=reason), status_code=status)


def seconds(value: float) -> str:
    return f"{value:g}"


async def json_body(request: Request) -> Any:
    """The parsed body, or NOT_JSON."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        return NOT_JSON


def has_authorization(request: Request) -> bool:
    return "authorization" in request.headers


class DroppedConnection(Response):
    """Starts a response, sends part of it, then fails: the client sees the connection drop mid-answer."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"code": 200, "da', "more_body": True})
        raise ConnectionResetError("emulated connection reset (poll_resets fault)")


class RouteGroup:
    """Handlers for one area of the API, sharing the emulator's state; `routes()` lists them in matching order."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def log(self, request: Request, body: Any = None) -> None:
        self.state.log(
            request.method,
            request.url.path,
            json=None if body is NOT_JSON else body,
            has_authorization=has_authorization(request),
        )

    def authorized(self, request: Request) -> bool:
        return self.state.authorized(request.headers.get("authorization"))

    def routes(self) -> list[Route]:
        raise NotImplementedError


class LocalCallersOnly:
    """ASGI middleware: the same Host/Origin checks the server makes (421 / 403), so that a web page cannot reach the
    emulator's unauthenticated control API through DNS rebinding. Loopback names pass, and the host the emulator
    calls itself in the URLs it hands out."""

    def __init__(self, app: ASGIApp, public_host: str) -> None:
        self.app = app
        self._public_host = public_host.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: dict[str, str] = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            host = urlsplit(f"//{headers.get('host', '')}").hostname or ""
            origin = headers.get("origin")
            if not self._allowed(host):
                await PlainTextResponse("Invalid Host header", status_code=421)(scope, receive, send)
                return
            if origin is not None and not self._allowed(urlsplit(origin).hostname or ""):
                await PlainTextResponse("Invalid Origin header", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, host: str) -> bool:
        return is_loopback_host(host) or host.lower() == self._public_host
