"""Catalog models end to end, through the SDK's client against the emulator: a model that exists nowhere in the code
runs with its own field checked, sent and priced by its quote; what is not a Qwen edit is refused with nothing paid;
the catalog is read once, not once per call; and masks, consent and the spend limit hold for catalog models too."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from PIL import Image

from fakes import FakeClock
from harness import World, make_world, text_of
from masked_pictures import SIZE, mask_as, photo, region_of
from qwen_image_edit_mcp.emulator.catalog_data import built_in_catalog
from qwen_image_edit_mcp.spend_config import parse_confirm_spend

pytestmark = pytest.mark.anyio

URL = "https://example.com/street.jpg"
NEW = "wavespeed-ai/qwen-image-9/edit-glow"  # nowhere in the server's code
CATALOG = "/api/v3/models"


def glow_model() -> dict[str, Any]:
    """A catalog entry for a model nobody has seen before, with one field of its own."""
    entry = copy.deepcopy(built_in_catalog()["wavespeed-ai/qwen-image/edit-plus"])
    entry.update(model_id=NEW, name="Qwen-Image 9 Glow", base_price=0.0437, description="Edits that glow.")
    schema = entry["api_schema"]["api_schemas"][0]["request_schema"]
    schema["properties"]["glow"] = {"type": "integer", "minimum": 0, "maximum": 10, "default": 3}
    schema["x-order-properties"].append("glow")
    return entry


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    world = make_world(clock, tmp_path, latency=1.0)
    world.emulator.change_catalog([glow_model()], [])
    return world


def catalog_reads(world: World) -> int:
    return len(world.requests("GET", CATALOG))


async def test_a_model_that_exists_nowhere_in_the_code_runs_with_its_own_field_checked_sent_and_quoted(
    world: World,
) -> None:
    async with Client(world.server) as client:
        listed = await client.call_tool("list_models", {})
        refused = await client.call_tool(
            "edit_image", {"prompt": "glow", "image": URL, "model": NEW, "options": {"glow": 11}}
        )
        ran = await client.call_tool(
            "edit_image", {"prompt": "glow", "image": URL, "model": NEW, "options": {"glow": 7}}
        )
    assert listed.structured_content is not None
    (glow,) = [m for m in listed.structured_content["models"] if m["model_id"] == NEW]
    assert glow["options"] == [
        {"name": "glow", "rule": "an integer 0-10 (default 3)", "required": False, "description": None}
    ]
    assert refused.is_error
    assert f"options.glow is out of range (11) for model {NEW}: it takes an integer 0-10 (default 3)" in text_of(
        refused
    )
    assert not ran.is_error, text_of(ran)
    (submit,) = world.submits()
    assert submit["path"] == f"/api/v3/{NEW}"
    assert submit["json"]["glow"] == 7
    assert submit["json"]["images"] == [URL]
    assert ran.structured_content is not None
    assert ran.structured_content["model"] == NEW
    assert ran.structured_content["cost_usd"] == 0.0437  # the quote for this run, not a table's price
    assert catalog_reads(world) == 1  # three calls, one catalog read


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"model": "google/nano-banana/edit"}, "is not a Qwen-Image edit model"),
        ({"model": "bytedance/seedream-v4/edit"}, "is not a Qwen-Image edit model"),
        ({"model": "wavespeed-ai/qwen-image/text-to-image"}, "a text-to-image model"),
        ({"model": "wavespeed-ai/qwen-image/layered"}, "not an edit model"),
        ({"model": "edit-2.1", "options": {"strength": 1}}, "model edit-2.1 has no field 'strength'"),
        ({"model": "edit-2.1", "images": [URL] * 11}, "model edit-2.1 takes at most 10"),
        ({"model": "edit-max", "images": [URL] * 7}, "model edit-max takes at most 6"),
        ({"model": "edit-3.0", "images": [URL], "enable_sync_mode": True}, "model edit-3.0 takes no enable_sync_mode"),
        ({"model": "edit-multiple-angles", "image": URL}, "options.horizontal_angle is required"),
    ],
)
async def test_what_is_not_a_qwen_edit_or_breaks_its_models_rules_is_refused_with_nothing_paid(
    world: World, arguments: dict[str, Any], said: str
) -> None:
    balance = world.emulator.balance_usd
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "x", "image": URL, **arguments} if "images" not in arguments else {"prompt": "x", **arguments},
        )
    assert result.is_error
    assert said in text_of(result)
    assert "pydantic" not in text_of(result)
    assert world.submits() == []
    assert world.emulator.balance_usd == balance


async def test_a_quote_that_depends_on_the_inputs_is_the_price_stated_and_charged(world: World) -> None:
    balance = world.emulator.balance_usd
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "model": "edit-max", "images": [URL] * 3})
    assert result.structured_content is not None
    assert result.structured_content["cost_usd"] == 0.21  # $0.07 per image, for three
    assert balance - world.emulator.balance_usd == Decimal("0.21")


async def test_with_the_catalog_down_the_built_in_models_run_and_a_catalog_model_is_refused(world: World) -> None:
    world.emulator.update_faults({"catalog_errors": 5})
    async with Client(world.server) as client:
        refused = await client.call_tool("edit_image", {"prompt": "x", "image": URL, "model": "edit-2.1"})
        ran = await client.call_tool("edit_image", {"prompt": "x", "image": URL})
        listed = await client.call_tool("list_models", {})
    assert refused.is_error
    assert "cannot be read right now" in text_of(refused)
    assert "nothing was sent or paid" in text_of(refused)
    assert not ran.is_error, text_of(ran)
    assert [s["path"] for s in world.submits()] == ["/api/v3/wavespeed-ai/qwen-image/edit"]
    assert listed.structured_content is not None
    assert listed.structured_content["catalog"] == "unavailable"
    assert {m["name"] for m in listed.structured_content["models"]} == {
        "edit", "edit-plus", "edit-2511", "edit-lora", "edit-plus-lora", "edit-2511-lora"
    }  # fmt: skip
    assert catalog_reads(world) == 1  # a failed read is not retried on every call


async def test_a_masked_edit_on_a_catalog_model_keeps_every_pixel_outside_the_mask(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, latency=1.0)
    source = photo(tmp_path)
    mask = mask_as("file", tmp_path, None)  # type: ignore[arg-type]  # a file needs no running emulator
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "x", "image": str(source), "mask": mask, "model": "edit-2.1", "options": {"guidance_scale": 5}},
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["masked"] is True
    with Image.open(result.structured_content["saved_paths"][0]) as out, Image.open(source) as before:
        outside = [(x, y) for y in range(SIZE[1]) for x in range(SIZE[0]) if region_of(x, y) == "outside"]
        assert all(out.getpixel(xy) == before.getpixel(xy) for xy in outside)
        assert any(out.getpixel((x, y)) != before.getpixel((x, y)) for x in range(SIZE[0]) for y in range(SIZE[1]))
    (submit,) = world.submits()
    assert submit["path"] == "/api/v3/wavespeed-ai/qwen-image-2.1/edit"


class User:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        return ElicitResult(action="accept", content={"go_ahead": True})


async def test_consent_names_the_catalog_model_and_its_quote(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, latency=1.0, confirm_spend=parse_confirm_spend("always"))
    world.emulator.change_catalog([glow_model()], [])
    user = User()
    async with Client(world.server, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL, "model": NEW})
    assert not result.is_error, text_of(result)
    asked = {re.sub(r" \(question [0-9a-f]{8}\)$", "", message) for message in user.asked}
    assert len(asked) == 1
    assert asked.pop().startswith(f"This edit runs {NEW} for $0.0437; ")


async def test_the_spend_limit_refuses_a_catalog_models_quote_that_would_pass_it(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("0.1"))
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "model": "edit-max", "images": [URL] * 2})
    assert result.is_error
    assert "this edit costs $0.14" in text_of(result)
    assert world.submits() == []


async def test_without_a_live_price_a_per_image_model_reserves_for_its_most_images(world: World) -> None:
    world.emulator.update_faults({"price_errors": 10})
    balance = world.emulator.balance_usd
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "model": "edit-max", "images": [URL] * 6})
    assert result.structured_content is not None
    charged = balance - world.emulator.balance_usd
    assert charged == Decimal("0.42")
    assert result.structured_content["cost_usd"] == 0.42  # never less than what was charged
