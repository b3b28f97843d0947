"""A dropped HTTP connection cancels the tool call it carried, in the legacy protocol era too.

In the 2026 era a client cancels by closing the response stream, and the SDK stops the handler. In the 2025 era
over streamable HTTP a call runs in the session, apart from the POST that carried it: when that connection drops,
the SDK only stops forwarding, and the handler goes on waiting (and polling WaveSpeed) for nobody. The client's own
way to stop it is `notifications/cancelled`; a client that vanished cannot send it, so this layer sends it for it,
into the same session, when a POST carrying a tool call ends in a disconnect before the app was done with it.
Cancelling a call that already answered does nothing, so the race with a normal finish is harmless.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_SESSION_HEADER = b"mcp-session-id"
_KEPT_HEADERS = frozenset({b"host", _SESSION_HEADER, b"mcp-protocol-version", b"origin"})


class CancelOnDisconnect:
    """Pure ASGI around the SDK's streamable-HTTP app (no buffering of responses)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        if scope["type"] != "http" or scope["method"] != "POST" or _SESSION_HEADER not in headers:
            await self._app(scope, receive, send)
            return
        body = bytearray()
        dropped = False

        async def watching() -> Message:
            nonlocal dropped
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            elif message["type"] == "http.disconnect":
                dropped = True
            return message

        await self._app(scope, watching, send)
        if dropped and (request_id := _tool_call_id(bytes(body))) is not None:
            log.info("the client of call %r went away; cancelling it", request_id)
            await self._cancel(scope, request_id)

    async def _cancel(self, scope: Scope, request_id: Any) -> None:
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}}
        payload = json.dumps(note).encode()
        kept = [(name, value) for name, value in scope["headers"] if name in _KEPT_HEADERS]
        headers = [
            *kept,
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(payload)).encode()),
        ]
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def discard(message: Message) -> None:
            pass

        try:
            await self._app({**scope, "headers": headers}, receive, discard)
        except Exception:  # the call it would stop may already be gone: nothing to do then
            log.debug("could not deliver the cancellation", exc_info=True)


def _tool_call_id(body: bytes) -> Any:
    """The JSON-RPC id of a tools/call request, or None for anything else."""
    if b"tools/call" not in body:
        return None
    try:
        parsed: object = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    message = cast(dict[str, Any], parsed)
    return message.get("id") if message.get("method") == "tools/call" else None
