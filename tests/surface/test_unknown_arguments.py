"""An argument name a tool does not have is refused by name, with the names the tool takes, before anything is sent
or paid, in both protocol eras: the SDK's own argument models would drop it and run the edit without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import BaseModel, ValidationError

from fakes import APP_TOOLS, AppsSupport, FakeClock, beyond_the_catalog
from harness import World, make_world, text_of
from qwen_image_edit_mcp.spend_config import parse_confirm_spend
from qwen_image_edit_mcp.surface.argument_errors import describe_invalid_arguments, refusing_unknown
from qwen_image_edit_mcp.surface.viewer import LINKED_TOOLS

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"
EDIT = {"prompt": "add a hat", "image": URL_IMAGE}
EDIT_TAKES = (
    "edit_image takes: prompt, image, images, model, loras, size, seed, output_format, enable_base64_output, "
    "enable_sync_mode, wait_seconds, mask, feather, options, variations. A model's own fields go inside options "
    "(list_models names them)."
)
# Arguments each tool accepts, so that the unknown name is the only thing wrong with the call.
VALID: dict[str, dict[str, Any]] = {
    "edit_image": EDIT,
    "get_prediction": {"prediction_id": "abc"},
    "list_predictions": {},
    "get_balance": {},
    "list_models": {},
    "preview_image": {"source": URL_IMAGE},
    "recent_edits": {},
}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)


async def test_an_argument_edit_image_does_not_have_is_refused_by_name_and_nothing_is_paid(
    world: World, mode: str
) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", {**EDIT, "negative_prompt": "blurry-secret-value"})
    assert result.is_error
    text = text_of(result)
    assert text.startswith("Invalid arguments for edit_image: unknown argument 'negative_prompt'. ")
    assert EDIT_TAKES in text
    assert "Nothing was sent to WaveSpeed (so nothing was paid)" in text
    assert "blurry-secret-value" not in text  # the name, never the value
    assert world.submits() == []
    assert beyond_the_catalog(world.emulator.request_log()) == []  # not even a price quote


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"promt": "add a hat", "image": URL_IMAGE}, "unknown argument 'promt' (did you mean 'prompt'?); prompt:"),
        ({**EDIT, "sed": 7}, "unknown argument 'sed' (did you mean 'seed'?)"),
        ({**EDIT, "wait_second": 0}, "unknown argument 'wait_second' (did you mean 'wait_seconds'?)"),
        ({**EDIT, "Size": "1024*1024"}, "unknown argument 'Size' (did you mean 'size'?)"),
    ],
)
async def test_a_misspelled_argument_is_refused_with_the_likely_one_and_nothing_is_paid(
    world: World, mode: str, arguments: dict[str, Any], said: str
) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", arguments)
    assert result.is_error
    assert said in text_of(result)
    assert EDIT_TAKES in text_of(result)
    assert world.submits() == []


@pytest.mark.parametrize("tool", sorted(APP_TOOLS))
async def test_every_tool_refuses_an_unknown_name_and_lists_the_arguments_it_takes(
    world: World, mode: str, tool: str
) -> None:
    async with Client(world.server, mode=mode, extensions=[AppsSupport()]) as client:  # preview_image listed too
        schema = next(item.input_schema for item in (await client.list_tools()).tools if item.name == tool)
        result = await client.call_tool(tool, {**VALID[tool], "extra": 1})
    assert result.is_error
    text = text_of(result)
    assert f"Invalid arguments for {tool}: unknown argument 'extra'." in text
    takes = ", ".join(schema["properties"])
    assert (f"{tool} takes: {takes}." if takes else f"{tool} takes no arguments.") in text
    assert beyond_the_catalog(world.emulator.request_log()) == []


async def test_the_published_schemas_refuse_unknown_names_and_list_no_filled_in_parameter(world: World) -> None:
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == APP_TOOLS
    for tool in tools.values():
        assert tool.input_schema["additionalProperties"] is False, tool.name
        assert not {"ctx", "preparation", "approval"} & set(tool.input_schema.get("properties", {})), tool.name


async def test_a_filled_in_parameter_cannot_be_passed_as_an_argument(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", {**EDIT, "approval": {"action": "accept"}, "ctx": {}})
    assert result.is_error
    assert "unknown arguments 'approval', 'ctx'" in text_of(result)
    assert world.submits() == []


async def test_an_unknown_name_is_refused_before_the_spend_question_is_asked(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"go_ahead": True})

    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        refused = await client.call_tool("edit_image", {**EDIT, "negative_prompt": "blurry"})
        paid = await client.call_tool("edit_image", EDIT)
    assert refused.is_error
    assert "unknown argument 'negative_prompt'" in text_of(refused)
    assert len(asked) == 1  # only for the second call
    assert not paid.is_error, text_of(paid)
    assert len(world.submits()) == 1


async def test_known_arguments_still_work_in_every_tool(world: World, mode: str) -> None:
    arguments = {**EDIT, "seed": 7, "size": "1024*768", "output_format": "png", "wait_seconds": 30, "feather": 2}
    async with Client(world.server, mode=mode) as client:
        edited = await client.call_tool("edit_image", arguments)
        assert edited.structured_content is not None, text_of(edited)
        prediction_id = edited.structured_content["prediction_id"]
        read = await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 0})
        listed = await client.call_tool("list_predictions", {"status": "completed", "page": 1, "page_size": 5})
        balance = await client.call_tool("get_balance", {})
    for result in (edited, read, listed, balance):
        assert not result.is_error, text_of(result)
    assert len(world.submits()) == 1
    assert world.submits()[0]["json"]["seed"] == 7


async def test_every_argument_the_viewer_sends_is_published(world: World) -> None:
    # What view/src passes to callServerTool (previews.ts: preview_image; viewer.ts: get_prediction when resuming,
    # edit_image when editing again): an unknown name is refused now, so the view must send none.
    view_sends = {
        "preview_image": {"source", "max_side"},
        "get_prediction": {"prediction_id", "wait_seconds"},
        "edit_image": {"prompt", "image", "images", "seed", "model", "mask", "variations"},
        "recent_edits": {"limit"},
    }
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        published = {tool.name: set(tool.input_schema["properties"]) for tool in (await client.list_tools()).tools}
    assert set(view_sends) >= LINKED_TOOLS
    for tool, names in view_sends.items():
        assert names <= published[tool], tool


class Arguments(BaseModel):
    prompt: str


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        refusing_unknown(Arguments).model_validate(values)
    return describe_invalid_arguments("edit_image", caught.value, ["prompt"])


def test_many_unknown_names_are_counted_after_the_first_few_and_the_rest_is_still_said() -> None:
    text = refusal(**{f"extra{index}": index for index in range(8)})
    assert text.startswith("Invalid arguments for edit_image: unknown arguments 'extra0', 'extra1'")
    assert "'extra4' and 3 more; prompt: Field required." in text
    assert "edit_image takes: prompt." in text


def test_an_unknown_name_is_shown_printable_and_short() -> None:
    text = refusal(prompt="x", **{"bad\nname\x00" + "x" * 500: 1})
    assert "unknown argument 'badname" in text
    assert "\n" not in text
    assert "\x00" not in text
    assert "x" * 100 not in text


async def test_an_unknown_field_inside_an_argument_is_named_by_its_place(world: World) -> None:
    arguments = {**EDIT, "model": "edit-lora", "loras": [{"path": "owner/name", "scalee": 2}]}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert result.is_error
    assert "loras.0.scalee: unknown field" in text_of(result)
    assert "unknown argument" not in text_of(result)
    assert "takes:" not in text_of(result)
    assert world.submits() == []


def test_a_model_that_already_refuses_unknown_names_is_kept() -> None:
    strict = refusing_unknown(Arguments)
    assert refusing_unknown(strict) is strict
    assert strict.__name__ == Arguments.__name__
    assert strict.model_json_schema()["additionalProperties"] is False
