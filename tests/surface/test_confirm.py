"""Asking before paying, through the in-memory Client in both protocol eras: an accept runs the edit, a decline is a
normal result with nothing paid, a client without elicitation gets what each mode promises, and the mode never
changes edit_image's input schema."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from PIL import Image

from fakes import FakeClock
from harness import make_world, pictures_dir, png_data_uri, text_of
from qwen_image_edit_mcp.spend_config import parse_confirm_spend

pytestmark = pytest.mark.anyio
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg"}
PLUS = {"prompt": "add a hat", "images": ["https://example.com/street.jpg"], "model": "edit-plus"}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


class User:
    """Answers every question the same way and remembers what it was asked."""

    def __init__(self, action: str, go_ahead: bool = True) -> None:
        self.action, self.go_ahead = action, go_ahead
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        content = {"go_ahead": self.go_ahead} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # pyright: ignore[reportArgumentType]


async def test_an_accept_runs_the_edit_after_naming_its_model_price_and_balance(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    world.emulator.balance_usd = Decimal("12.34")
    user = User("accept")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", PLUS)
    assert not result.is_error, text_of(result)
    assert user.asked
    # In the 2026-07-28 era each question carries its own reference, which ties the answer to it (jobs/asked.py).
    asked = {re.sub(r" \(question [0-9a-f]{8}\)$", "", message) for message in user.asked}
    assert asked == {"This edit runs edit-plus for $0.02; balance $12.34. Go ahead?"}
    assert all(("(question " in message) == (mode == "auto") for message in user.asked)
    assert len(world.submits()) == 1
    assert result.structured_content is not None
    assert result.structured_content["cost_usd"] == 0.02


@pytest.mark.parametrize(("action", "go_ahead"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_a_decline_is_a_normal_result_that_says_nothing_was_paid(
    clock: FakeClock, tmp_path: Path, mode: str, action: str, go_ahead: bool
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    user = User(action, go_ahead)
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", EDIT)
    assert not result.is_error
    assert "declined" in text_of(result)
    assert "nothing was paid" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["prediction_id"] is None
    assert result.structured_content["cost_usd"] == 0
    assert world.submits() == []
    assert user.asked


async def test_above_a_threshold_only_dearer_edits_ask(clock: FakeClock, tmp_path: Path, mode: str) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("above:0.02"))
    user = User("decline")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        cheap = await client.call_tool("edit_image", EDIT)
        dear = await client.call_tool("edit_image", {**EDIT, "model": "edit-lora", "loras": []})
    assert not cheap.is_error
    assert cheap.structured_content is not None
    assert cheap.structured_content["prediction_id"]
    assert dear.structured_content is not None
    assert dear.structured_content["prediction_id"] is None
    assert [message.split(";")[0] for message in user.asked] == ["This edit runs edit-lora for $0.025"] * len(
        user.asked
    )
    assert len(world.submits()) == 1


@pytest.mark.parametrize(
    ("setting", "refused"), [("never", False), ("always", True), ("above:0.02", False), ("above:0.01", True)]
)
async def test_a_client_without_elicitation_gets_what_the_setting_promises(
    clock: FakeClock, tmp_path: Path, mode: str, setting: str, refused: bool
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend(setting))
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", EDIT)
    assert result.is_error is refused, text_of(result)
    if refused:
        assert "cannot ask the user" in text_of(result)
        assert "nothing paid" in text_of(result)
        assert f"--confirm-spend {setting}" in text_of(result)
    assert len(world.submits()) == (0 if refused else 1)


async def test_the_limit_refuses_without_asking_first(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"), max_spend_usd=Decimal("0.01"))
    user = User("accept")
    async with Client(world.server, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", EDIT)
    assert result.is_error
    assert "Refused before any paid request" in text_of(result)
    assert user.asked == []
    assert world.submits() == []


BAD_EDITS: list[tuple[dict[str, Any], str]] = [
    ({**EDIT, "image": "/etc/passwd"}, "outside the folders this server may read"),
    ({**EDIT, "image": "data:image/png;base64,aGVsbG8="}, "readable image"),
    ({**PLUS, "images": [EDIT["image"], "/etc/passwd"]}, "images[1]: "),
    ({**EDIT, "loras": [{"path": "owner/name"}]}, "use model edit-lora"),
    ({**EDIT, "enable_sync_mode": True, "wait_seconds": 2}, "at least 10"),
    ({**EDIT, "image": png_data_uri((64, 48)), "mask": png_data_uri((100, 100))}, "the mask is 100x100"),
]


@pytest.mark.parametrize(("arguments", "said"), BAD_EDITS)
async def test_an_edit_that_a_free_check_refuses_is_refused_without_asking(
    clock: FakeClock, tmp_path: Path, mode: str, arguments: dict[str, Any], said: str
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    user = User("accept")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", arguments)
    assert result.is_error
    assert said in text_of(result)
    assert user.asked == []
    assert world.submits() == []


async def test_a_local_picture_is_read_before_asking_and_not_uploaded_when_declined(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    picture = pictures_dir(tmp_path) / "cat.png"
    Image.new("RGB", (64, 48), "navy").save(picture)
    user = User("decline")
    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", {**EDIT, "image": str(picture)})
    assert not result.is_error
    assert user.asked
    assert [entry["path"] for entry in world.emulator.request_log() if "/media/" in entry["path"]] == []
    assert world.submits() == []


async def test_the_confirm_mode_does_not_change_the_input_schema(clock: FakeClock, tmp_path: Path) -> None:
    schemas: list[dict[str, Any]] = []
    for setting in ("never", "always"):
        world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend(setting))
        async with Client(world.server) as client:
            tools = (await client.list_tools()).tools
        schemas.append(next(tool.input_schema for tool in tools if tool.name == "edit_image"))
    assert schemas[0] == schemas[1]
    assert "approval" not in schemas[0]["properties"]


def test_the_setting_is_parsed_strictly() -> None:
    assert str(parse_confirm_spend(" Above:0.5 ")) == "above:0.5"
    for bad in ("sometimes", "above:", "above:-1", "above:nan", "above:x"):
        with pytest.raises(ValueError, match="QWEN_EDIT_CONFIRM_SPEND"):
            parse_confirm_spend(bad)
