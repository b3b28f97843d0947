"""A flood of new sessions is paced: only a few openings are served at once, while requests within a session and
2026-era requests (which have no sessions) pass straight through, and a client that trickles its body holds no turn.
Plain ASGI, no server: the layer is driven with scopes and bodies of our own."""

from __future__ import annotations

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from qwen_image_edit_mcp.surface.sessions import PaceSessionOpenings

pytestmark = pytest.mark.anyio


def request(*headers: tuple[bytes, bytes]) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": [(b"content-type", b"application/json"), *headers],
    }


OPENING = request()
OPENING_2025 = request((b"mcp-protocol-version", b"2025-06-18"))
IN_SESSION = request((b"mcp-session-id", b"abc"), (b"mcp-protocol-version", b"2025-06-18"))
MODERN = request((b"mcp-protocol-version", b"2026-07-28"))


async def whole_body() -> Message:
    return {"type": "http.request", "body": b"{}", "more_body": False}


async def discard(message: Message) -> None:
    pass


class Recorder:
    """An app that reads the whole body, then stays until released; counts how many are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.peak = 0
        self.served: list[Scope] = []
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body", False):
            pass
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        self.served.append(scope)
        try:
            await self.release.wait()
        finally:
            self.inside -= 1


async def test_only_a_few_openings_are_served_at_once() -> None:
    app = Recorder()
    paced = PaceSessionOpenings(app, at_once=2)
    async with anyio.create_task_group() as group:
        for scope in [OPENING, OPENING_2025] * 3:
            group.start_soon(paced, scope, whole_body, discard)
        await anyio.wait_all_tasks_blocked()
        assert app.inside == 2
        app.release.set()
    assert app.peak == 2
    assert len(app.served) == 6  # the others waited their turn, and had it


async def test_requests_within_a_session_and_2026_era_requests_are_not_held_back() -> None:
    app = Recorder()
    paced = PaceSessionOpenings(app, at_once=1)
    async with anyio.create_task_group() as group:
        for scope in (OPENING, OPENING, IN_SESSION, MODERN):
            group.start_soon(paced, scope, whole_body, discard)
        await anyio.wait_all_tasks_blocked()
        assert app.served.count(OPENING) == 1
        assert IN_SESSION in app.served
        assert MODERN in app.served
        app.release.set()


async def test_a_client_that_trickles_its_body_holds_no_turn() -> None:
    app = Recorder()
    paced = PaceSessionOpenings(app, at_once=1)
    never = anyio.Event()
    parts = iter([{"type": "http.request", "body": b"{", "more_body": True}])

    async def trickle() -> Message:
        if (part := next(parts, None)) is not None:
            return part
        await never.wait()  # the rest of the body never comes
        raise AssertionError("unreachable")

    async with anyio.create_task_group() as group:
        group.start_soon(paced, OPENING, trickle, discard)
        group.start_soon(paced, OPENING, whole_body, discard)
        await anyio.wait_all_tasks_blocked()
        assert app.served == [OPENING]  # the fast one, though the slow one came first and the app is still reading it
        app.release.set()
        await anyio.wait_all_tasks_blocked()
        group.cancel_scope.cancel()


async def test_an_opening_whose_turn_is_late_goes_ahead_unpaced() -> None:
    """Every wait is bounded: with the only turn held by an opening that never ends, the next one waits at most
    `turn_wait` (here none at all) and is then served without a turn."""
    app = Recorder()
    paced = PaceSessionOpenings(app, at_once=1, turn_wait=0)
    async with anyio.create_task_group() as group:
        group.start_soon(paced, OPENING, whole_body, discard)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(paced, OPENING_2025, whole_body, discard)
        await anyio.wait_all_tasks_blocked()
        assert app.served == [OPENING, OPENING_2025]
        app.release.set()
