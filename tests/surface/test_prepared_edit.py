"""One prepared edit, in both protocol eras: checked once, asked about once, paid only on an explicit yes.

Each reproducer of the two ways an edit used to be paid without consent is here: a free check that failed once and
passed the second time (it skipped the question), and a limit that looked full while the question was decided and
had room when the handler ran. Also: a "yes" string is no consent, a question nobody answers in time ends the edit
unpaid, the live price is what is reserved and stated however dear, and a LoRA URL is held to the image URL rules.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from PIL import Image

from fakes import FakeClock
from harness import World, ledger_in, make_world, png_data_uri, text_of
from qwen_image_edit_mcp.jobs import prepare as prepare_case
from qwen_image_edit_mcp.spend_config import parse_confirm_spend

pytestmark = pytest.mark.anyio
IMAGE_URL = "https://images.test/street.png"
MASKED = {"prompt": "add a hat", "image": IMAGE_URL, "mask": png_data_uri((64, 48))}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(buffer, "PNG")
    return buffer.getvalue()


class ImageHost(httpx.AsyncBaseTransport):
    """A public image host in front of the emulator: answers `images.test` from a script of statuses (then 200),
    counts its fetches and may run a hook during one; everything else goes on to the emulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport, statuses: list[int] | None = None) -> None:
        self.inner, self.statuses = inner, list(statuses or [])
        self.fetches = 0
        self.during_fetch: Callable[[], Awaitable[None]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "images.test":
            return await self.inner.handle_async_request(request)
        self.fetches += 1
        if self.during_fetch is not None:
            await self.during_fetch()
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, content=picture() if status == 200 else b"busy")


def hosted_world(
    clock: FakeClock, tmp_path: Path, statuses: list[int] | None = None, **settings: Any
) -> tuple[World, ImageHost]:
    hosts: list[ImageHost] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        hosts.append(ImageHost(inner, statuses))
        return hosts[0]

    world = make_world(clock, tmp_path, wrap=wrap, **settings)
    return world, hosts[0]


class User:
    """Answers every question with `content` (accept) or `action`, and remembers what it was asked."""

    def __init__(self, action: str = "accept", content: dict[str, Any] | None = None, before: Any = None) -> None:
        self.action, self.content, self.before = action, content, before
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        if self.before is not None:
            self.before()
        content = self.content if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # pyright: ignore[reportArgumentType]


YES = {"go_ahead": True}


async def test_a_flaky_image_host_and_a_declining_user_make_no_submit(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world, host = hosted_world(clock, tmp_path, [503], confirm_spend=parse_confirm_spend("always"))
    user = User("decline")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        refused = await client.call_tool("edit_image", MASKED)  # the host answers 503: refused in its own words
        declined = await client.call_tool("edit_image", MASKED)  # the host answers 200: asked, and declined
    assert refused.is_error
    assert "could not be fetched" in text_of(refused)
    assert not declined.is_error
    assert "declined" in text_of(declined)
    assert len(user.asked) == 1
    assert world.submits() == []
    assert host.fetches == 2  # once per call, in either era


async def test_an_accepted_masked_edit_fetches_its_image_once_and_submits_once(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world, host = hosted_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    user = User(content=YES)
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", MASKED)
    assert not result.is_error, text_of(result)
    assert len(user.asked) == 1
    assert len(world.submits()) == 1
    assert host.fetches == 1
    assert result.structured_content is not None
    assert result.structured_content["masked"] is True


async def test_a_limit_that_looks_full_refuses_without_a_question(clock: FakeClock, tmp_path: Path, mode: str) -> None:
    world, host = hosted_world(
        clock, tmp_path, confirm_spend=parse_confirm_spend("always"), max_spend_usd=Decimal("0.02")
    )
    other = ledger_in(tmp_path / "cache", "0.02")  # another edit, holding the whole room
    held = await other.reserve(Decimal("0.02"), label="edit A")
    user = User(content=YES)
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", MASKED)
    assert result.is_error
    assert "Refused before any paid request" in text_of(result)
    assert "nobody was asked to pay" in text_of(result)
    assert user.asked == []
    assert world.submits() == []
    assert host.fetches == 1  # refused after the free checks, which read the inputs first
    await other.release(held)


async def test_room_that_frees_during_the_checks_is_asked_about_before_it_is_paid(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    # The reproducer: the limit looked full when the question was decided, and had room when the handler ran, so the
    # edit was paid unasked. Now the limit is consulted once, after the inputs, and the question follows from it.
    world, host = hosted_world(
        clock, tmp_path, confirm_spend=parse_confirm_spend("always"), max_spend_usd=Decimal("0.02")
    )
    other = ledger_in(tmp_path / "cache", "0.02")
    held = await other.reserve(Decimal("0.02"), label="edit A")

    async def release_the_room() -> None:  # edit A gives its room back while this edit's image is fetched
        await other.release(held)

    host.during_fetch = release_the_room
    user = User("decline")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", MASKED)
    assert not result.is_error, text_of(result)
    assert "declined" in text_of(result)
    assert len(user.asked) == 1
    assert world.submits() == []


@pytest.mark.parametrize("answer", [{"go_ahead": "yes"}, {"go_ahead": 1}, {"go_ahead": "true"}])
async def test_only_a_boolean_true_is_consent(
    clock: FakeClock, tmp_path: Path, mode: str, answer: dict[str, Any]
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    user = User(content=answer)
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", {"prompt": "add a hat", "image": IMAGE_URL})
    assert result.is_error
    assert "Not submitted, nothing paid" in text_of(result)
    assert "go_ahead must be the boolean true" in text_of(result)
    assert user.asked
    assert world.submits() == []


async def test_an_answer_after_the_call_s_time_is_refused_unpaid(clock: FakeClock, tmp_path: Path, mode: str) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    delays = [61.0, 0.0]  # the user answers yes a minute later, then, to the same edit asked again, at once
    user = User(content=YES, before=lambda: clock.advance(delays.pop(0)))
    edit = {"prompt": "add a hat", "image": IMAGE_URL, "wait_seconds": 50}
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        late = await client.call_tool("edit_image", edit)
        again = await client.call_tool("edit_image", edit)
    assert not late.is_error, text_of(late)
    assert "nobody answered the question about paying $0.02" in text_of(late)
    assert "within 60 s" in text_of(late)
    assert "nothing was paid" in text_of(late)
    assert late.structured_content is not None
    assert late.structured_content["prediction_id"] is None
    assert not again.is_error, text_of(again)  # a new call is a new question, not the late one
    assert again.structured_content is not None
    assert again.structured_content["prediction_id"]
    assert len(user.asked) == 2
    assert len(world.submits()) == 1


async def test_a_question_nobody_answers_ends_the_call_unpaid(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.2)  # the call may take wait_seconds (0) plus 0.2 s
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    never = anyio.Event()

    async def silent(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        await never.wait()  # the user walked away
        raise AssertionError("unreachable")

    async with Client(world.server, mode="legacy", elicitation_callback=silent) as client:
        result = await client.call_tool("edit_image", {"prompt": "add a hat", "image": IMAGE_URL, "wait_seconds": 0})
    assert not result.is_error, text_of(result)
    assert "nobody answered" in text_of(result)
    assert world.submits() == []


async def test_a_dear_live_price_is_reserved_and_stated_as_it_is(clock: FakeClock, tmp_path: Path, mode: str) -> None:
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("0.10"))
    world.emulator.faults.price_usd = 1.5
    async with Client(world.server, mode=mode) as client:
        refused = await client.call_tool("edit_image", {"prompt": "add a hat", "image": IMAGE_URL})
    assert refused.is_error
    assert "this edit costs $1.50" in text_of(refused)
    assert world.submits() == []

    (tmp_path / "roomy").mkdir()
    world = make_world(clock, tmp_path / "roomy", max_spend_usd=Decimal("5"))
    world.emulator.faults.price_usd = 1.5
    async with Client(world.server, mode=mode) as client:
        paid = [await client.call_tool("edit_image", {"prompt": "add a hat", "image": IMAGE_URL}) for _ in range(4)]
        balance = await client.call_tool("get_balance", {})
    assert [result.structured_content["cost_usd"] for result in paid if result.structured_content] == [1.5] * 3
    assert paid[3].is_error  # $4.50 spent: no room for a fourth $1.50 run
    assert balance.structured_content is not None
    assert balance.structured_content["spent_usd"] == 4.5
    assert len(world.submits()) == 3


@pytest.mark.parametrize(
    "path",
    [
        "https://169.254.169.254/latest/x.safetensors",
        "https://localhost/x.safetensors",
        "https://10.0.0.8/x.safetensors",
    ],
)
async def test_a_lora_url_on_a_private_host_is_refused_before_paying(
    clock: FakeClock, tmp_path: Path, path: str
) -> None:
    world = make_world(clock, tmp_path)
    arguments = {"prompt": "add a hat", "image": IMAGE_URL, "model": "edit-lora", "loras": [{"path": path}]}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert result.is_error
    assert "loras[0].path" in text_of(result)
    assert "private address" in text_of(result)
    assert world.submits() == []
