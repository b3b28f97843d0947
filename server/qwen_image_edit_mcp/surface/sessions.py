"""Streamable-HTTP sessions that clients abandon: they expire, at the cap the one idle longest makes room, and a
flood of new ones is paced so that the clients already here are still served promptly. Legacy SSE streams are
capped too.

The SDK's session manager ends a session once it has had nothing in flight for `session_idle_timeout`, and at
`max_sessions` it refuses (503) whoever comes next. Refusing is the wrong way round when the open sessions were
abandoned (a client that crashed, or a script that never sends DELETE): they would hold every slot until they expire,
and lock out the clients that are still here. So at the cap, the session idle longest is ended the way its idle
timeout would end it, only sooner, and the new one is admitted.

"Idle" is the SDK's own measure: while a session serves a request or holds a GET stream open, its transport pushes
the idle deadline to infinity, and when the last request ends it sets the deadline to now + timeout. So the session
idle longest is the one with the earliest finite deadline, and a session with a call in flight or a client listening
is never chosen. When every session is busy, the SDK's 503 stands.

The SDK builds its manager inside `streamable_http_app()` and takes no policy for a full house, so the class of the
manager it built is swapped for this subclass, which changes admission alone and adds no state. What it reads of the
manager's registry is private to the SDK: `supports_eviction` checks it is there, and without it the SDK's refusal
stands.

Pacing: opening a session costs the server a few milliseconds of CPU on its one event loop (the SDK's validation,
the session's task group and streams, four tasks per SSE response). Dozens at once interleave with every other
request's steps, so another client's tools/list waits behind all of them. `PaceSessionOpenings` lets a few run at
once; the rest wait their turn, which costs nothing while they wait. Measured with bench/measures_sessions.py (2,000
abandoned handshakes, 32 at a time, on 2 cores): another client's tools/list p95 went from 66-74 ms to 27-28 ms.

SSE (the legacy transport) has no such leak: a session lives exactly as long as its GET stream, so a client that
goes away frees it. But each open stream enters the server's whole lifespan (the SDK runs one per connection), with
an HTTP client of its own: about 0.9 MiB a stream. `CapSseStreams` holds them to the same cap; beyond it a new
stream gets a 503, since every open one has a client on the other end, and none is idle.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# A flood of abandoned sessions would write a line per eviction; one line per this many seconds says enough.
REPORT_EVERY_SECONDS = 60.0
# Session openings served at once. They are CPU work on one event loop: more at once adds no throughput, only delay
# for everyone else.
OPENINGS_AT_ONCE = 4
# The longest an opening waits for its turn; past it, it is served unpaced (a stuck opening holds up no one for long).
TURN_WAIT_SECONDS = 5.0

_SESSION_HEADER = MCP_SESSION_ID_HEADER.encode("ascii")
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.encode("ascii")
_HANDSHAKE_VERSIONS = frozenset(version.encode("ascii") for version in HANDSHAKE_PROTOCOL_VERSIONS)


class IdleFirstSessionManager(StreamableHTTPSessionManager):
    """The SDK's manager, but at the session cap the session idle longest is ended to admit the new one."""

    # Class-level starting values: the instance is the SDK's, given this class after it was built (no __init__ runs).
    _evicted_unreported = 0
    _last_report = -math.inf

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        # Called under the manager's admission lock and without an await: nothing can take the freed slot first.
        if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
            self._end_session_idle_longest()
        return super()._admit_session(requestor)

    def _end_session_idle_longest(self) -> None:
        idle = (
            (scope.deadline, session_id)
            for session_id, transport in self._server_instances.items()
            if (scope := transport.idle_scope) is not None and not scope.cancel_called and math.isfinite(scope.deadline)
        )
        oldest = min(idle, default=None)
        if oldest is None:
            return  # every session is busy: the SDK refuses the newcomer
        transport = self._server_instances.pop(oldest[1])
        self._session_owners.pop(oldest[1], None)
        # What the idle timeout does when it fires: the session's own task ends its message loop and terminates the
        # transport. It is forgotten first (above), so its id answers 404 from now on and its slot is free at once.
        assert transport.idle_scope is not None
        transport.idle_scope.cancel()
        self._report_eviction()

    def _report_eviction(self) -> None:
        now = anyio.current_time()
        self._evicted_unreported += 1
        if now - self._last_report >= REPORT_EVERY_SECONDS:
            log.warning(
                "%d open sessions (the cap, --max-sessions): ended %d idle session(s) to admit new ones; their "
                "clients must initialize again",
                self.max_sessions,
                self._evicted_unreported,
            )
            self._evicted_unreported, self._last_report = 0, now


def supports_eviction(manager: StreamableHTTPSessionManager) -> bool:
    """Whether this SDK's manager has the registry and the admission step that `IdleFirstSessionManager` relies on."""
    registry: Any = getattr(manager, "_server_instances", None)
    owners: Any = getattr(manager, "_session_owners", None)
    return (
        isinstance(registry, dict) and isinstance(owners, dict) and callable(getattr(manager, "_admit_session", None))
    )


def evict_idle_first(manager: StreamableHTTPSessionManager) -> None:
    """Give the manager the SDK built the idle-first admission (see the module docstring); a no-op, logged, on an SDK
    whose manager no longer looks as expected."""
    if type(manager) is not StreamableHTTPSessionManager or not supports_eviction(manager):
        log.warning("this MCP SDK's session manager cannot make room at its cap: new sessions beyond it get a 503")
        return
    manager.__class__ = IdleFirstSessionManager


class PaceSessionOpenings:
    """Pure ASGI before the SDK's app: at most `at_once` requests that open a session are served at a time.

    A request opens a session when it carries no session id and speaks the 2025 (handshake) era, the same test the
    SDK's manager makes; requests within a session and 2026-era requests (which have no sessions) pass unpaced.
    The turn is taken once the request's body has arrived, so a client that trickles its body holds no turn. The SDK
    reads the whole body before it admits the session, so an opening waiting for its turn takes no session slot."""

    def __init__(self, app: ASGIApp, at_once: int = OPENINGS_AT_ONCE, turn_wait: float = TURN_WAIT_SECONDS) -> None:
        self._app = app
        self._turns = anyio.Semaphore(at_once)
        self._turn_wait = turn_wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _opens_a_session(scope):
            await self._app(scope, receive, send)
            return
        holding = False

        async def receive_then_wait_turn() -> Message:
            nonlocal holding
            message = await receive()
            if not holding and message["type"] == "http.request" and not message.get("more_body", False):
                # Bounded: pacing only orders the work, so an opening whose turn is late goes ahead without one.
                with anyio.move_on_after(self._turn_wait):
                    await self._turns.acquire()
                    holding = True
            return message

        try:
            await self._app(scope, receive_then_wait_turn, send)
        finally:
            if holding:
                self._turns.release()


def _opens_a_session(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    version: bytes | None = None
    for name, value in scope["headers"]:
        if name == _SESSION_HEADER:
            return False
        if name == _VERSION_HEADER:
            version = value
    return version is None or version in _HANDSHAKE_VERSIONS


class CapSseStreams:
    """Pure ASGI before the SDK's SSE app: at most `limit` event streams (GET `path`) open at once; 503 beyond."""

    def __init__(self, app: ASGIApp, limit: int, path: str = "/sse") -> None:
        self._app = app
        self._limit = limit
        self._path = path
        self._open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self._path:
            await self._app(scope, receive, send)
            return
        if self._open >= self._limit:
            log.warning("refusing an SSE stream: %d are open (the cap, --max-sessions)", self._open)
            body = {"error": "too_many_streams", "error_description": "too many open SSE streams; retry later"}
            await JSONResponse(body, status_code=503, headers={"Retry-After": "5"})(scope, receive, send)
            return
        self._open += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._open -= 1
