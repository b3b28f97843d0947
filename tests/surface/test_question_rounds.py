"""The 2026-07-28 era's spend question, its rounds driven by hand as a client (or an attacker) could send them: an
answer counts once, for the question it answered, in the call that asked it, and only in time.

Each test sends the second round itself (`input_responses` and the sealed `request_state` from the first), so that
it can resend it, send it late, or send it after the server let the question go. The balance endpoint is down in
most of them, so that the question's words cannot change between rounds on their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
    InputRequiredResult,
)

from fakes import FakeClock
from harness import World, make_world, text_of
from qwen_image_edit_mcp.jobs import asked as asked_module
from qwen_image_edit_mcp.spend_config import parse_confirm_spend

pytestmark = pytest.mark.anyio
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg"}


class NoBalance(httpx.AsyncBaseTransport):
    """The balance endpoint is down: every question says "balance unknown", whatever was paid in between."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/balance"):
            return httpx.Response(503, content=b"down")
        return await self.inner.handle_async_request(request)


async def unused(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    raise AssertionError("these tests answer by hand")


def asking_world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path, wrap=NoBalance, confirm_spend=parse_confirm_spend("always"))


async def ask(client: Client, arguments: dict[str, Any]) -> tuple[InputRequiredResult, str]:
    first = await client.session.call_tool("edit_image", arguments, allow_input_required=True)
    assert isinstance(first, InputRequiredResult), first
    assert first.input_requests is not None
    (key,) = first.input_requests.keys()
    return first, key


async def answer(
    client: Client, first: InputRequiredResult, key: str, action: str = "accept", arguments: dict[str, Any] = EDIT
) -> CallToolResult | InputRequiredResult:
    said = ElicitResult(action=action, content={"go_ahead": True} if action == "accept" else None)  # pyright: ignore[reportArgumentType]
    return await client.session.call_tool(
        "edit_image",
        arguments,
        input_responses={key: said},
        request_state=first.request_state,
        allow_input_required=True,
    )


def question_of(result: InputRequiredResult, key: str) -> str:
    assert result.input_requests is not None
    request = result.input_requests[key]
    assert isinstance(request, ElicitRequest)
    assert isinstance(request.params, ElicitRequestFormParams)
    return request.params.message


async def test_an_answer_pays_once_however_often_it_is_sent(clock: FakeClock, tmp_path: Path) -> None:
    world = asking_world(clock, tmp_path)
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        first, key = await ask(client, EDIT)
        paid = await answer(client, first, key)
        again = await answer(client, first, key)
    assert isinstance(paid, CallToolResult)
    assert paid.structured_content is not None
    assert paid.structured_content["prediction_id"]
    # The resent answer finds its question answered: it is asked anew, with a new reference, and nothing is paid.
    assert isinstance(again, InputRequiredResult)
    assert question_of(again, key) != question_of(first, key)
    assert len(world.submits()) == 1


async def test_two_copies_of_an_answer_sent_at_once_pay_once(clock: FakeClock, tmp_path: Path) -> None:
    world = asking_world(clock, tmp_path)
    results: list[CallToolResult | InputRequiredResult] = []
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        first, key = await ask(client, EDIT)

        async def send() -> None:
            results.append(await answer(client, first, key))

        async with anyio.create_task_group() as group:
            group.start_soon(send)
            group.start_soon(send)
    assert len(world.submits()) == 1
    refused = [r for r in results if isinstance(r, CallToolResult) and r.is_error]
    paid = [r for r in results if isinstance(r, CallToolResult) and not r.is_error]
    assert len(paid) == 1
    assert all("answered already" in text_of(r) for r in refused)


async def test_a_decline_resent_as_an_accept_pays_nothing(clock: FakeClock, tmp_path: Path) -> None:
    world = asking_world(clock, tmp_path)
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        first, key = await ask(client, EDIT)
        declined = await answer(client, first, key, "decline")
        turned = await answer(client, first, key, "accept")
    assert isinstance(declined, CallToolResult)
    assert "declined" in text_of(declined)
    assert isinstance(turned, InputRequiredResult)  # asked anew: the old "no" cannot become a "yes"
    assert world.submits() == []


async def test_a_late_answer_is_not_paid_even_once_its_question_was_let_go(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asked_module, "MAX_QUESTIONS", 4)
    world = asking_world(clock, tmp_path)
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        first, key = await ask(client, EDIT)
        for index in range(5):  # other edits' questions push this one out of the server's memory
            await ask(client, {**EDIT, "prompt": f"another edit {index}"})
        clock.advance(300)  # far past its wait_seconds + 10
        late = await answer(client, first, key)
    assert isinstance(late, InputRequiredResult)  # an answer with no question of its own is never taken as a yes
    assert world.submits() == []


async def test_a_second_identical_call_does_not_revive_a_timed_out_answer(clock: FakeClock, tmp_path: Path) -> None:
    world = asking_world(clock, tmp_path)
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        call_a, key = await ask(client, EDIT)  # asked at t=0: answer by t=60
        clock.advance(50)
        call_b, _ = await ask(client, EDIT)  # the same edit asked again at t=50: answer by t=110
        clock.advance(20)
        late_a = await answer(client, call_a, key)  # t=70: A's answer is late
        in_time_b = await answer(client, call_b, key)
    assert question_of(call_a, key) != question_of(call_b, key)  # each call's question is its own
    assert isinstance(late_a, InputRequiredResult)  # A's answer matches no question out now: asked anew, unpaid
    assert isinstance(in_time_b, CallToolResult)
    assert in_time_b.structured_content is not None
    assert in_time_b.structured_content["prediction_id"]
    assert len(world.submits()) == 1  # B's, in time; never A's


async def test_a_decline_of_an_older_call_cannot_be_resent_as_an_accept_after_a_newer_one(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = asking_world(clock, tmp_path)
    async with Client(world.server, mode="auto", elicitation_callback=unused) as client:
        call_a, key = await ask(client, EDIT)
        call_b, _ = await ask(client, EDIT)  # the same edit asked again: A's question is replaced
        declined_a = await answer(client, call_a, key, "decline")
        declined_b = await answer(client, call_b, key, "decline")
        flipped_a = await answer(client, call_a, key, "accept")  # A's "no", resent as a "yes"
    assert isinstance(declined_a, InputRequiredResult)  # A's answer matched no question out: asked anew
    assert isinstance(declined_b, CallToolResult)
    assert "declined" in text_of(declined_b)
    assert isinstance(flipped_a, InputRequiredResult)
    assert world.submits() == []
