"""Serving MCP over HTTP: streamable HTTP at /mcp, or legacy SSE at /sse + /messages/, plus /healthz.

Layers, outermost first:

    BearerAuth           401 unless `Authorization: Bearer <token>` matches (constant time); /healthz is open
    CancelOnDisconnect   streamable HTTP: a dropped POST cancels the tool call it carried (disconnects.py)
    PaceSessionOpenings  streamable HTTP with sessions: a few session openings served at a time (sessions.py)
    CapSseStreams        SSE: at most --max-sessions open event streams, 503 beyond (sessions.py)
    the SDK's app        Host/Origin checks (421 / 403) against the allowed lists, a body limit (413), the transport

The SDK's own app owns the transport and its lifespan (the streamable-HTTP session manager, which enters our
server's lifespan once per process); its sessions expire when idle, and at the cap the one idle longest makes room
(sessions.py). The token only guards this server: it is never sent to WaveSpeed, whose key is the server's own, and
it is masked in the logs.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..addresses import is_loopback_host
from ..config import HttpSettings, SettingsError
from .disconnects import CancelOnDisconnect
from .sessions import CapSseStreams, PaceSessionOpenings, evict_idle_first
from .tokens import token_weakness

HEALTH_PATH = "/healthz"


def check_exposure(options: HttpSettings) -> None:
    """Refuse to listen beyond this machine without a token, or with one a guess would find: anyone who reaches the
    port could spend the key."""
    if is_loopback_host(options.host):
        return
    if options.auth_token is not None:
        if (weakness := token_weakness(options.auth_token.get_secret_value())) is not None:
            raise SettingsError(
                f"refusing to listen on {options.host} with a weak token ({weakness}). Use a random one, e.g. "
                "`openssl rand -hex 32`."
            )
        return
    raise SettingsError(
        f"refusing to listen on {options.host} without a token: anyone who can reach it could run paid edits "
        "on your WaveSpeed key. Set --auth-token / QWEN_EDIT_AUTH_TOKEN (e.g. `openssl rand -hex 32`), or "
        "listen on 127.0.0.1 behind a proxy that authenticates."
    )


def transport_security(options: HttpSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: this machine's names, plus what the deployment names."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if not is_loopback_host(options.host) and options.host not in ("0.0.0.0", "::"):  # noqa: S104 - a comparison
        hosts += [options.host, f"{options.host}:*"]
    for host in options.allowed_hosts:
        hosts += [host] if ":" in host.strip("[]") and not host.startswith("[") else [host, f"{host}:*"]
    origins += list(options.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=list(dict.fromkeys(hosts)), allowed_origins=origins
    )


class BearerAuth:
    """Pure ASGI (no response buffering, so streaming and cancellation survive): checks the token on every request
    except the health check, comparing in constant time."""

    def __init__(self, app: ASGIApp, token: SecretStr, *, open_paths: Sequence[str] = (HEALTH_PATH,)) -> None:
        self._app = app
        self._expected = token.get_secret_value().encode()
        self._open = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self._app(scope, receive, send)
            return
        presented = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                presented = value
                break
        # RFC 7235: the scheme is case-insensitive ("bearer x" is "Bearer x"); the token itself is not.
        scheme, _, token = presented.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self._expected):
            error = "invalid_token" if presented else "invalid_request"
            response = JSONResponse(
                {"error": error, "error_description": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer realm="qwen-image-edit-mcp", error="{error}"'},
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


def build_http_app(server: MCPServer[Any], options: HttpSettings) -> ASGIApp:
    check_exposure(options)

    async def healthz(request: Request) -> Response:
        body = {"status": "ok", "server": "qwen-image-edit-mcp", "version": __version__, "transport": options.transport}
        return Response(json.dumps(body), media_type="application/json")

    server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)(healthz)
    security = transport_security(options)
    if options.transport == "sse":
        app: ASGIApp = CapSseStreams(
            server.sse_app(
                transport_security=security, max_request_body_size=options.max_body_bytes, host=options.host
            ),
            options.max_sessions,
        )
    else:
        app = server.streamable_http_app(
            transport_security=security,
            stateless_http=options.stateless,
            max_request_body_size=options.max_body_bytes,
            session_idle_timeout=options.session_idle_seconds,
            max_sessions=options.max_sessions,
            host=options.host,
        )
        if not options.stateless:  # no sessions there, so nothing to expire, cap or pace
            evict_idle_first(server.session_manager)
            app = PaceSessionOpenings(app)
        app = CancelOnDisconnect(app)
    return BearerAuth(app, options.auth_token) if options.auth_token is not None else app
